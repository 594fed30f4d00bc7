"""Exits the process with status 0, skipping all cleanup, as the module loads."""

import os

os._exit(0)
