"""``python -m envkernels``: the CLI."""

from envkernels.cli import main

raise SystemExit(main())
