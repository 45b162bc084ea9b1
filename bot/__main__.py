"""`python -m bot` is the same as the `paperbot` command."""

from bot.cli import main

raise SystemExit(main())
