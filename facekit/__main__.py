"""Allow `python -m facekit ...`."""

from facekit.cli import main

raise SystemExit(main())
