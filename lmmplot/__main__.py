"""``python -m lmmplot``: the command line."""
from .cli import main

raise SystemExit(main())
