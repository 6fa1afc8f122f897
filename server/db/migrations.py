"""Ordered SQL migrations, recorded in ``schema_migrations`` and safe to run twice.

Each owner of tables keeps its own folder per dialect: the core (the ``users`` table) and every
plugin. The built-ins' folders are in the ``sql`` package (``sql/<owner>/<dialect>/``), shipped
in the wheel and read through :mod:`importlib.resources`; a third-party plugin returns a folder
of its own package from ``register_migrations`` the same way.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime, timezone
from importlib import resources
from importlib.abc import Traversable
from typing import Iterable

from server.db import Database

log = logging.getLogger("wamulti.migrations")

FILE_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
DIALECTS = ("sqlite", "mysql")

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    id VARCHAR(191) NOT NULL PRIMARY KEY,
    applied_at VARCHAR(32) NOT NULL
)
"""


def sql_folder(owner: str, dialect: str) -> Traversable:
    """The migrations of a built-in owner (``core``, ``catalog``...) for ``dialect``."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown SQL dialect {dialect!r}")
    return resources.files("sql").joinpath(owner, dialect)


def migration_files(folder: Traversable) -> list[Traversable]:
    """The ``NNNN_name.sql`` files of a folder, in order; anything else there is an error."""
    if not folder.is_dir():
        raise FileNotFoundError(f"migration folder {folder} does not exist")
    files = sorted((p for p in folder.iterdir() if p.name.endswith(".sql")), key=lambda p: p.name)
    for path in files:
        if not FILE_NAME.match(path.name):
            raise ValueError(f"migration {path}: name it NNNN_lower_case_name.sql")
    numbers = [p.name[:4] for p in files]
    if len(numbers) != len(set(numbers)):
        raise ValueError(f"migrations in {folder}: two files share a number")
    return files


def split_statements(sql: str) -> list[str]:
    """Split a file on semicolons that end a line; comments starting with ``--`` are dropped.

    A ``CREATE TRIGGER`` runs on to the line ``END;``, so the statements of its body stay in it."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    statements, current = [], []
    for line in lines:
        current.append(line)
        in_trigger = "\n".join(current).lstrip().upper().startswith("CREATE TRIGGER")
        if (line.strip().upper() == "END;") if in_trigger else line.rstrip().endswith(";"):
            statement = "\n".join(current).strip().rstrip(";").strip()
            if statement:
                statements.append(statement)
            current = []
    tail = "\n".join(current).strip()
    if tail:
        statements.append(tail)
    return statements


async def applied_ids(db: Database) -> set[str]:
    await db.execute(_CREATE_TABLE)
    rows = await db.fetch_all("SELECT id FROM schema_migrations")
    return {row["id"] for row in rows}


async def migrate(db: Database, sources: Iterable[tuple[str, Traversable]]) -> list[str]:
    """Apply every migration not yet recorded, source by source, file by file.

    ``sources`` are ``(namespace, folder)`` pairs; a file is recorded as
    ``namespace/file name``. Returns the ids applied now.
    """
    applied: list[str] = []
    async with db.migration_lock():
        done = await applied_ids(db)
        for namespace, folder in sources:
            for path in migration_files(folder):
                mig_id = f"{namespace}/{path.name}"
                if mig_id in done:
                    continue
                log.info("applying migration %s", mig_id)
                statements = split_statements(path.read_text(encoding="utf-8"))
                now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                # MySQL commits DDL implicitly; SQLite rolls the whole file back on failure.
                async with db.transaction() as tx:
                    for statement in statements:
                        await tx.execute(statement)
                    await tx.execute("INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)", (mig_id, now))
                applied.append(mig_id)
    return applied
