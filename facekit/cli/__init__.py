"""Top layer: the `facekit` command line, one module per command."""
