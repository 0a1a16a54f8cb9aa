"""Named, parameterized SQL for product managers: ``warehouse/queries/NAME.sql``.

A query's first comment lines are its description; ``-- param NAME: meaning`` lines
document its parameters. Parameters appear in the SQL as ``{name:Type}`` and are bound by
the ClickHouse server, never formatted into the text. Values given on the command line are
checked against their type here first, so a typo is a clear error, not a server exception.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warehouse.exceptions import UnknownQuery, WarehouseError

QUERIES_DIR = Path(__file__).parent / "queries"
PLACEHOLDER = re.compile(r"\{(\w+):([^}]+)\}")
PARAM_DOC = re.compile(r"^--\s*param\s+(\w+)\s*:\s*(.+)$")


class BadParameter(WarehouseError):
    pass


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    doc: str

    def parse(self, text: str) -> Any:
        kind = self.type.strip()
        try:
            if kind == "Date":
                return dt.date.fromisoformat(text)
            if kind.startswith("DateTime"):
                value = dt.datetime.fromisoformat(text)
                return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
            if re.fullmatch(r"U?Int(8|16|32|64)", kind):
                number = int(text)
                if kind.startswith("U") and number < 0:
                    raise ValueError("must not be negative")
                return number
            if kind.startswith("Float"):
                return float(text)
            if kind == "String":
                return text
            if kind.startswith("Array(String)"):
                return [part for part in text.split(",") if part]
        except ValueError as err:
            raise BadParameter(
                f"parameter {self.name!r} expects {kind}: {text!r} is not valid ({err})"
            ) from None
        raise BadParameter(f"parameter {self.name!r} has unsupported type {kind}")


@dataclass(frozen=True)
class NamedQuery:
    name: str
    description: str
    sql: str
    parameters: tuple[Parameter, ...]

    def bind(self, raw: Mapping[str, str]) -> dict[str, Any]:
        known = {p.name: p for p in self.parameters}
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise BadParameter(
                f"query {self.name!r} has no parameter {', '.join(unknown)}; it takes: {', '.join(known) or 'none'}"
            )
        missing = [p.name for p in self.parameters if p.name not in raw]
        if missing:
            raise BadParameter(
                f"query {self.name!r} needs --param {' --param '.join(f'{m}=…' for m in missing)}"
            )
        return {name: known[name].parse(value) for name, value in raw.items()}


def load(path: Path) -> NamedQuery:
    text = path.read_text()
    description: list[str] = []
    docs: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        match = PARAM_DOC.match(line)
        if match:
            docs[match.group(1)] = match.group(2).strip()
        else:
            description.append(line.lstrip("-").strip())
    parameters: dict[str, Parameter] = {}
    for name, type_ in PLACEHOLDER.findall(text):
        if name in parameters and parameters[name].type != type_:
            raise WarehouseError(f"{path.name}: parameter {name} used as {parameters[name].type} and {type_}")
        parameters.setdefault(name, Parameter(name, type_, docs.get(name, "")))
    undocumented = [n for n in parameters if n not in docs]
    if undocumented:
        raise WarehouseError(
            f"{path.name}: document parameters with '-- param NAME: meaning': {undocumented}"
        )
    return NamedQuery(path.stem, " ".join(d for d in description if d), text, tuple(parameters.values()))


def all_queries(folder: Path = QUERIES_DIR) -> dict[str, NamedQuery]:
    return {q.name: q for q in (load(p) for p in sorted(folder.glob("*.sql")))}


def get(name: str, folder: Path = QUERIES_DIR) -> NamedQuery:
    queries = all_queries(folder)
    if name not in queries:
        raise UnknownQuery(f"no query named {name!r}; known: {', '.join(queries)}")
    return queries[name]
