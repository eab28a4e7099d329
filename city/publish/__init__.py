"""The console's publishing pages and kiosk buttons (issue 13); the logic is in city/rollouts.py
and city/commands.py (docs/publishing.md)."""
