-- PLACEHOLDER (branch cityreq only): the migration runner refuses a gap, and 0007 is the
-- activities migration of another branch (cityact). Drop this file when merging that one.
SELECT 1;
