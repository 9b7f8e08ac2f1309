"""`python -m matforge.cli` is the same as the `matforge` command."""

from matforge.cli.app import run

run()
