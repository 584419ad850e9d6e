"""`python -m solutions ...`: see solutions/cli.py."""

from solutions.cli import main

main()
