"""``python -m needle`` runs the CLI."""

from needle.cli.main import main

main()
