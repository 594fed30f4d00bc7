"""Database tables: participants (token hashes only), scored submissions, their files, settings.

The schema changes only through an Alembic revision in `migrations/versions/` (see schema.py);
a test checks that the revisions build exactly these tables.

Timestamps are stored and returned as timezone-aware UTC, whatever the backend keeps.
"""

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
    false,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from autograder.leaderboard.schema import require_current
from facekit.base.errors import FacekitError, SetupError


class UTCDateTime(TypeDecorator):
    """A datetime that always comes back aware in UTC (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware UTC time")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAME_MAX_LENGTH = 200
DISPLAY_NAME_MAX_LENGTH = 40


class Base(DeclarativeBase):
    pass


class Participant(Base):
    """A student or team; the token itself is never stored, only its SHA-256.

    `name` is the roster name, seen only by staff and the student; `display_name` is the
    pseudonym on public pages (random until the student picks one).
    """

    __tablename__ = "participant"
    __table_args__ = (UniqueConstraint("display_name", name="uq_participant_display_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(DISPLAY_NAME_MAX_LENGTH))
    submissions: Mapped[list["Submission"]] = relationship(back_populates="participant")


class Submission(Base):
    """One accepted upload with its scores; its bytes are the StoredFile of the same sha256.

    Submissions made before revision 0002 have no StoredFile: their files were not kept.
    """

    __tablename__ = "submission"
    __table_args__ = (Index("ix_submission_task_participant", "task", "participant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    task: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    public: Mapped[float] = mapped_column(Float)
    private: Mapped[float] = mapped_column(Float)
    overall: Mapped[float] = mapped_column(Float)
    details: Mapped[dict[str, float]] = mapped_column(JSON)
    late_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # chosen by the student for the private ranking (see finals.py)
    chosen: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    participant: Mapped[Participant] = relationship(back_populates="submissions")


class StoredFile(Base):
    """An accepted upload's bytes, stored once per content and addressed by their SHA-256."""

    __tablename__ = "stored_file"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Feedback(Base):
    """A student's released grading feedback: the judge's results.json, checked and bounded."""

    __tablename__ = "feedback"

    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), primary_key=True)
    results: Mapped[dict] = mapped_column(JSON)
    released_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # when tests marked `after_published` show their details (Gradescope's visibility)
    details_from: Mapped[datetime] = mapped_column(UTCDateTime())


class Setting(Base):
    """Staff settings as name/value text (today only `deadline`, ISO 8601 UTC)."""

    __tablename__ = "setting"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


def _serialize_sqlite_writes(engine: Engine) -> None:
    """Make every SQLite transaction `BEGIN IMMEDIATE`, so check-then-insert cannot race.

    pysqlite otherwise starts transactions lazily (and as DEFERRED), which lets two requests
    both read "4 submissions today" before either writes. WAL keeps readers unblocked.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def connect(db_url: str, *, pool_size: int = 8) -> Engine:
    """An engine for `db_url` (SQLite file or PostgreSQL server), its schema not checked."""
    try:
        url = make_url(db_url)
    except ArgumentError as error:
        raise SetupError(
            f"cannot parse database URL {db_url!r}: expected e.g. sqlite:///leaderboard.db "
            "or postgresql+psycopg://user@host/dbname"
        ) from error
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            raise SetupError(
                f"database URL {db_url!r} is an in-memory SQLite database, which every "
                "connection sees empty; give a file, e.g. sqlite:///leaderboard.db"
            )
        engine = create_engine(
            url, pool_size=pool_size, max_overflow=0, connect_args={"timeout": 60}
        )
        _serialize_sqlite_writes(engine)
    elif url.get_backend_name() == "postgresql":
        engine = create_engine(url, pool_size=pool_size, max_overflow=0, pool_pre_ping=True)
    else:
        raise SetupError(
            f"unsupported database {url.get_backend_name()!r} in {db_url!r}: "
            "expected sqlite or postgresql"
        )
    return engine


def open_database(db_url: str, *, pool_size: int = 8) -> Engine:
    """An engine for `db_url` whose schema is current (created if the database is empty).

    Raises SchemaOutdated for a database at an older revision: see `schema.require_current`.
    """
    engine = connect(db_url, pool_size=pool_size)
    try:
        require_current(engine)
    except SQLAlchemyError as error:
        engine.dispose()
        raise SetupError(
            f"cannot open database {engine.url.render_as_string()}: {error}"
        ) from error
    except FacekitError:
        engine.dispose()
        raise
    return engine
