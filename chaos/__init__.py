"""The fault suite (`python -m chaos`): bounded, loopback-only fault scenarios with counts."""
