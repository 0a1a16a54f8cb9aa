"""SQL lives in .sql files, one statement per ``-- name: NAME`` block, loaded by name."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$")


def load(path: Path) -> Mapping[str, str]:
    statements: dict[str, list[str]] = {}
    current: str | None = None
    for line in path.read_text().splitlines():
        match = NAME.match(line)
        if match:
            current = match.group(1)
            if current in statements:
                raise ValueError(f"{path.name}: statement {current} defined twice")
            statements[current] = []
        elif current is not None and not line.lstrip().startswith("--"):
            statements[current].append(line)
    return MappingProxyType({k: "\n".join(v).strip().rstrip(";") for k, v in statements.items()})
