"""Whole-app UI tests: each test drives the real Kivy app offscreen in a subprocess."""
