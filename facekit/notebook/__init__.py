"""Notebook layer: extraction of a notebook's code, the reference module, the release.

Imports only `facekit.base`."""
