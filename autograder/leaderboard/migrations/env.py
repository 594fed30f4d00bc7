"""Alembic's entry point: migrate the connection `facekit leaderboard migrate` hands over.

Run by Alembic itself (`alembic -c .../alembic.ini -x db=URL ...`) it opens that URL instead.
SQLite alters tables by copying them (`render_as_batch`), since it lacks most of ALTER TABLE.
"""

from alembic import context
from sqlalchemy import create_engine

from autograder.leaderboard.models import Base


def _migrate(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _migrate(connection)
else:
    db_url = context.get_x_argument(as_dictionary=True).get("db")
    if not db_url:
        raise SystemExit("pass the database URL: alembic -x db=sqlite:///leaderboard.db ...")
    with create_engine(db_url).connect() as own_connection:
        _migrate(own_connection)
