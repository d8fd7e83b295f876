"""The `flask` command line: one module per command group."""
