"""The database schema's version, with Alembic: create it fresh, or migrate it on request.

A new (empty) database is created at the newest revision. A database at an older revision, or
made before the leaderboard used Alembic (revision 0001, without an `alembic_version` table), is
never changed behind the staff's back: the server refuses it and names the command that migrates
it (`facekit leaderboard migrate`), so a live course database is backed up first, by a person.
"""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect
from sqlalchemy.engine import Engine

from autograder.leaderboard.errors import LeaderboardError
from facekit.base.errors import SetupError

ALEMBIC_INI = Path(__file__).with_name("migrations") / "alembic.ini"
BASELINE = "0001"
"""The revision of every database the leaderboard made before it used Alembic."""


class SchemaOutdated(SetupError):
    """The database needs `facekit leaderboard migrate` (or a newer facekit) first."""


def _config(connection: Connection | None = None) -> Config:
    config = Config(str(ALEMBIC_INI))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision: the schema of these models."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def database_revision(connection: Connection) -> str | None:
    """The database's revision: BASELINE if made before Alembic, None if it has no tables."""
    tables = set(inspect(connection).get_table_names())
    if "alembic_version" in tables:
        return MigrationContext.configure(connection).get_current_revision()
    return BASELINE if "participant" in tables else None


def migrate(engine: Engine) -> tuple[str | None, str, bool]:
    """Upgrade the database to the newest revision in one transaction.

    Returns (revision before, revision after, whether the revision was recorded only now).
    SQLite rebuilds a table to alter it, which its foreign keys forbid: they are off during the
    migration and checked before it commits (the procedure of SQLite's ALTER TABLE page).
    """
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # must run outside a transaction, so on the driver's connection
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                before = database_revision(connection)
                _check_known(before, engine)
                config = _config(connection)
                unrecorded = "alembic_version" not in inspect(connection).get_table_names()
                if before == BASELINE and unrecorded:
                    command.stamp(config, BASELINE)
                command.upgrade(config, "head")
                if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise LeaderboardError("the migration broke a foreign key; nothing changed")
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
    return before, head_revision(), before is not None and unrecorded


def _check_known(revision: str | None, engine: Engine) -> None:
    if revision is None:
        return
    known = {script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions()}
    if revision not in known:
        raise SchemaOutdated(
            f"database {engine.url.render_as_string()} is at schema revision {revision!r}, "
            "which this facekit does not know: it was made by a newer facekit; upgrade facekit"
        )


def require_current(engine: Engine) -> None:
    """Create an empty database at the newest revision; refuse one at an older revision.

    A database made before Alembic is refused even when its tables are current, so that
    `migrate` records its revision once, with a person watching.
    """
    with engine.connect() as connection:
        revision = database_revision(connection)
        recorded = "alembic_version" in inspect(connection).get_table_names()
    if revision is None:
        migrate(engine)
        return
    _check_known(revision, engine)
    head = head_revision()
    if revision != head or not recorded:
        url = engine.url.render_as_string()
        raise SchemaOutdated(
            f"database {url} has schema revision {revision}, this facekit needs {head}: back it "
            f"up, then run `facekit leaderboard migrate --db {url}`"
        )
