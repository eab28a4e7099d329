"""`python -m city …` (see city.cli)."""

from city.cli import main

raise SystemExit(main())
