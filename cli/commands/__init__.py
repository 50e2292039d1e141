"""One module a subcommand (group): option parsing here, behaviour in the package that owns it."""
