"""`python -m bot <command>`: see bot/cli.py."""

from bot.cli import main

raise SystemExit(main())
