"""The revisions, oldest first: 0001 is the schema every database had before Alembic."""
