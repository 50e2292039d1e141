"""Allow `python -m cli` as well as the `transom` console script."""

from cli.main import main

main()
