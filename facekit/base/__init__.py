"""Bottom layer: files, paths, errors, the competition contract, CSV reading, metrics.

Imports nothing else of the kit."""
