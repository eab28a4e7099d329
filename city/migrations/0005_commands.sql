-- publishing (issue 13): signed commands, rollouts, per-kiosk delivery state
-- Placeholder reserved so parallel work keeps versions contiguous; filled in by its branch.
SELECT 1;
