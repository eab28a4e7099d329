"""`python -m edge_agent run|status|emit|watch|sign`."""

import sys

from edge_agent.cli import main

sys.exit(main())
