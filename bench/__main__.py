"""`make bench`: run every benchmark section, print a table, write build/bench/results.json."""

from bench.runner import main

raise SystemExit(main())
