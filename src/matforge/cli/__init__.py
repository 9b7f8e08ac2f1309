"""The `matforge` command line: one thin module per command group, no logic the API lacks."""
