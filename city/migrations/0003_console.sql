-- console (issue 13): accounts, web sessions, audit log
-- Placeholder reserved so parallel work keeps versions contiguous; filled in by its branch.
SELECT 1;
