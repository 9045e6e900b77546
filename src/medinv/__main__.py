"""``python -m medinv`` runs the command line."""

from medinv.cli import main

raise SystemExit(main())
