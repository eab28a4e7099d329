"""The shared leaf: small mechanisms every part of the kiosk may import.

It imports nothing of ours (an import-linter contract in pyproject.toml holds that), so drivers,
the edge agent, config and the kiosk can all depend on it without depending on each other.
"""
