"""`python -m solutions ...`: see solutions/tooling/cli.py."""

from solutions.tooling.cli import main

main()
