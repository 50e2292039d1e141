"""The `transom` command line: one console script whose subcommands reach every part."""

__version__ = "0.1.0"
