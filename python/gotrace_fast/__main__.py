"""``python -m gotrace_fast``: the command line interface (see :mod:`gotrace_fast.cli`)."""

from .cli import main

raise SystemExit(main())
