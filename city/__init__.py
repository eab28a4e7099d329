"""The city platform: ingest of the kiosks' events, fleet state and alerts (PostgreSQL + MQTT 5).

A deployable of its own: it imports nothing of the kiosk side and reads the kiosks' data only
through docs/contract/ (import-linter enforces it).
"""
