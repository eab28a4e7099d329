"""Periodic alert evaluation (filled in with the alert rules)."""

from __future__ import annotations

import psycopg

from city.config import CityConfig


class Sweeper:
    """Runs the alert rules every `alerts.sweep_interval_s`."""

    def __init__(self, config: CityConfig) -> None:
        self.config = config

    def tick(self, conn: psycopg.Connection) -> None:
        """Evaluate when due (one worker at a time)."""
