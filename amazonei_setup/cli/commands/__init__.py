"""One module per command; each handler takes a Context and returns an exit code."""
