"""Allow `python -m facekit ...`."""

from facekit.cli.main import main

raise SystemExit(main())
