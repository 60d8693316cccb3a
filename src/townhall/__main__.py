"""`python -m townhall` runs the command-line interface."""

from townhall.cli import main

main()
