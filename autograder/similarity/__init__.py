"""Code similarity between submitted notebooks (copied work), the MOSS method."""
