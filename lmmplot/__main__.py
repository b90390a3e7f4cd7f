"""``python -m lmmplot``: the command line."""
from .cli import console

console()
