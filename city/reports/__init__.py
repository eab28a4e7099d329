"""The city's service reports (issue 13): 好差评, use of services, health huts, follow-ups.

Counts come from rollup tables the ingest keeps in its own transaction (city/reports/rollup.py,
docs/reports.md); the report modules read those, never the raw `events` table.
"""
