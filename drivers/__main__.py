"""Technician CLI: `python -m drivers {decode,probe,simulate,qr} …` (see drivers/cli.py)."""

from drivers.cli import main

raise SystemExit(main())
