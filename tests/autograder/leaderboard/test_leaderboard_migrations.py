"""Alembic migrations: a database made by the pre-Alembic schema keeps every row (issue 11)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from autograder.leaderboard.archive import Archive, NotStored
from autograder.leaderboard.models import Base, connect, open_database
from autograder.leaderboard.schema import BASELINE, SchemaOutdated, _config, head_revision
from facekit.base.contract import CLASSIFICATION, VERIFICATION
from facekit.cli.main import main as facekit_main

FIXTURES = Path(__file__).with_name("fixtures")
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
OLD_SUBMISSIONS = [  # (id, participant_id, task, minutes after T0, public, private)
    (1, 1, CLASSIFICATION, 0, 0.5, 0.25),
    (2, 1, VERIFICATION, 5, 0.75, 0.5),
    (3, 2, CLASSIFICATION, 7, 0.9, 0.8),
    (4, 2, CLASSIFICATION, 60 * 24, 0.95, 0.85),
]
# How create_all spelt the two types of fixtures/schema_v0.sql that differ between dialects.
V0_TYPES = {
    "sqlite": {"serial": "INTEGER", "timestamp_tz": "DATETIME"},
    "postgresql": {"serial": "SERIAL", "timestamp_tz": "TIMESTAMP WITH TIME ZONE"},
}


def _schema_v0(db_url: str) -> None:
    """Create the pre-Alembic schema from the saved DDL and fill it with rows."""
    engine = create_engine(db_url)
    lines = (FIXTURES / "schema_v0.sql").read_text().splitlines()
    ddl = "\n".join(line for line in lines if not line.startswith("--"))
    ddl = ddl.format(**V0_TYPES[engine.dialect.name])
    with engine.begin() as connection:
        for statement in filter(str.strip, ddl.split(";")):
            connection.exec_driver_sql(statement)
        connection.execute(
            text("INSERT INTO participant (id, name, token_hash) VALUES (:id, :name, :hash)"),
            [
                {"id": 1, "name": "ann", "hash": "a" * 64},
                {"id": 2, "name": "ben", "hash": "b" * 64},
            ],
        )
        connection.execute(
            text(
                "INSERT INTO submission (id, participant_id, task, created_at, filename, size, "
                "sha256, public, private, overall, details) VALUES (:id, :pid, :task, :at, "
                "'s.csv', 10, :sha, :public, :private, :public, '{}')"
            ),
            [
                {
                    "id": i,
                    "pid": p,
                    "task": t,
                    "at": T0 + timedelta(minutes=m),
                    "sha": f"{i:064x}",
                    "public": pub,
                    "private": priv,
                }
                for i, p, t, m, pub, priv in OLD_SUBMISSIONS
            ],  # fmt: skip
        )
        connection.execute(
            text("INSERT INTO setting (name, value) VALUES ('deadline', :value)"),
            {"value": "2026-12-01T23:59:00+00:00"},
        )
    engine.dispose()


def _rows(db_url: str) -> list[tuple]:
    engine = connect(db_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT s.id, s.participant_id, s.task, s.public, s.private, p.name, p.token_hash "
                "FROM submission s JOIN participant p ON p.id = s.participant_id ORDER BY s.id"
            )
        ).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def _shape(db_url: str) -> dict:
    """Tables, columns (name, type, nullable), indexes and unique constraints of a database."""
    engine = create_engine(db_url)
    with engine.connect() as connection:
        inspector = inspect(connection)
        shape = {
            table: (
                [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
                sorted((i["name"], tuple(i["column_names"])) for i in inspector.get_indexes(table)),
                sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)),
            )
            for table in inspector.get_table_names()
            if table != "alembic_version"
        }
    engine.dispose()
    return shape


def test_baseline_revision_is_the_pre_alembic_schema(db_url, new_database, checked_backend):
    """Does revision 0001 create exactly the tables the old `create_all` made?"""
    engine = connect(db_url)
    with engine.begin() as connection:
        command.upgrade(_config(connection), BASELINE)
    engine.dispose()
    old = new_database(checked_backend)
    _schema_v0(old)
    assert _shape(db_url) == _shape(old)


def test_newest_revision_matches_the_models(db_url):
    """Does a fresh database, built by the migrations alone, match the models exactly?"""
    engine = open_database(db_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def test_old_database_is_refused_then_migrated_keeping_every_row(db_url, keys_dir, capsys):
    """Is a pre-Alembic database refused with the command to run, then migrated losslessly?"""
    _schema_v0(db_url)
    before = _rows(db_url)
    assert len(before) == len(OLD_SUBMISSIONS)
    with pytest.raises(SchemaOutdated, match="run `facekit leaderboard migrate --db "):
        open_database(db_url)

    assert facekit_main(["leaderboard", "migrate", "--db", db_url]) == 0
    head = head_revision()
    assert f"schema migrated from revision {BASELINE} to {head}" in capsys.readouterr().out
    assert _rows(db_url) == before
    engine = open_database(db_url)  # now accepted
    with engine.connect() as connection:
        pseudonyms = connection.execute(text("SELECT display_name FROM participant")).scalars()
        pseudonyms = list(pseudonyms)
    assert len(set(pseudonyms)) == 2 and all(p.startswith("anonymous-") for p in pseudonyms)
    with pytest.raises(NotStored, match="made before uploads were kept"):
        Archive(engine).file(1)
    engine.dispose()
    assert facekit_main(["leaderboard", "deadline", "--db", db_url]) == 0
    assert "deadline: 2026-12-01T23:59:00+00:00" in capsys.readouterr().out

    assert facekit_main(["leaderboard", "migrate", "--db", db_url]) == 0
    assert f"schema already at revision {head}" in capsys.readouterr().out
    assert facekit_main(["leaderboard", "rescore", "--db", db_url, "--keys", str(keys_dir)]) == 0
    assert "4 submissions made before files were kept keep their old scores" in (
        capsys.readouterr().out
    )
    assert _rows(db_url) == before


def test_unknown_revision_is_refused(db_url):
    """Is a database stamped by a newer facekit refused instead of being touched?"""
    open_database(db_url).dispose()
    engine = connect(db_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'zz99'"))
    engine.dispose()
    with pytest.raises(SchemaOutdated, match="made by a newer facekit"):
        open_database(db_url)


def test_serve_refuses_an_old_database_with_exit_2(db_url, keys_dir, capsys):
    """Does `serve` on a pre-Alembic database stop (exit 2) and name the migrate command?"""
    _schema_v0(db_url)
    code = facekit_main(["leaderboard", "serve", "--db", db_url, "--keys", str(keys_dir)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("facekit leaderboard: ") and "facekit leaderboard migrate --db" in err
