"""Ordered, checksummed schema migrations: the plan, with no database in sight.

Files are ``NNNN_description.sql`` in one folder. Applying is the runner's job (PostgreSQL
in ``streams.postgres.migrate``, ClickHouse in ``warehouse.migrate``); this module decides
what is pending and refuses to go on when history was rewritten: a migration that was
applied must not change, and an applied version must still exist.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from streams.exceptions import PlatformError

FILE_PATTERN = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(PlatformError):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    def statements(self) -> list[str]:
        """Split on ``;`` at the end of a line (for engines without multi-statement requests).

        Whole-line ``--`` comments are dropped; a statement never starts with a comment.
        """
        out: list[str] = []
        current: list[str] = []
        for line in self.sql.splitlines():
            if line.strip().startswith("--"):
                continue
            current.append(line)
            if line.rstrip().endswith(";"):
                statement = "\n".join(current).strip().rstrip(";").strip()
                if statement:
                    out.append(statement)
                current = []
        tail = "\n".join(current).strip()
        if tail:
            out.append(tail)
        return out


def discover(folder: Path) -> list[Migration]:
    migrations: dict[int, Migration] = {}
    for path in sorted(folder.glob("*.sql")):
        match = FILE_PATTERN.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: migration files are named NNNN_description.sql")
        version = int(match.group(1))
        if version in migrations:
            raise MigrationError(f"two migrations with version {version:04d} in {folder}")
        migrations[version] = Migration(version, match.group(2), path.read_text())
    return [migrations[v] for v in sorted(migrations)]


def plan(available: Sequence[Migration], applied: Mapping[int, str]) -> list[Migration]:
    """The migrations still to apply, in order. ``applied`` maps version to checksum."""
    by_version = {m.version: m for m in available}
    for version, checksum in sorted(applied.items()):
        known = by_version.get(version)
        if known is None:
            raise MigrationError(f"migration {version:04d} was applied but its file is gone")
        if known.checksum != checksum:
            raise MigrationError(
                f"migration {version:04d}_{known.name} changed after it was applied; "
                "write a new migration instead of editing an applied one"
            )
    return [m for m in available if m.version not in applied]
