"""The bundle's entry point: the same ``bank-desktop`` command as the installed package."""

from bank_desktop.cli import main

raise SystemExit(main())
