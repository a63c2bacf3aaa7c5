"""`python -m consult` runs the CLI."""

from consult.cli import main

main()
