"""Pure-Python drivers and simulators for the kiosk's serial and camera hardware.

Imports nothing else of this project (enforced by import-linter).
"""
