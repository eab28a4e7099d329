"""`python -m kiosk run --config FILE` (the touchscreen app) or `python -m kiosk hash-pin`."""

from kiosk.app_main import main

raise SystemExit(main())
