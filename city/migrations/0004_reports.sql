-- reports (issue 13): 好差评 follow-ups, rollups
-- Placeholder reserved so parallel work keeps versions contiguous; filled in by its branch.
SELECT 1;
