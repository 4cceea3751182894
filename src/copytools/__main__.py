"""`python -m copytools`."""

from .cli import run

run()
