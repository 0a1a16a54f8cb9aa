"""The warehouse command line.

    python -m warehouse list                                   the named queries and their parameters
    python -m warehouse query NAME --param k=v [--format table|csv|json]
    python -m warehouse migrate                                apply ClickHouse migrations
    python -m warehouse ddl                                    CREATE statements derived from the contracts
    python -m warehouse docs                                   the table reference (docs/warehouse.md)

Exit codes: 0 ok, 2 bad query name or parameter, 1 ClickHouse error.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import sys
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from streams.settings import Settings
from warehouse.catalog import all_queries, get
from warehouse.exceptions import WarehouseError


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def render(columns: list[str], rows: Sequence[Sequence[Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(
            [{c: _plain(v) for c, v in zip(columns, row, strict=True)} for row in rows], indent=2
        )
    if fmt == "csv":
        import io

        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(columns)
        writer.writerows([[_plain(v) for v in row] for row in rows])
        return out.getvalue().rstrip("\n")
    if not columns:
        return "(0 rows)"
    cells = [[str(_plain(v)) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m warehouse", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="named queries and their parameters")
    q = sub.add_parser("query", help="run a named query")
    q.add_argument("name")
    q.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    q.add_argument("--format", choices=["table", "csv", "json"], default="table")
    sub.add_parser("migrate", help="apply ClickHouse migrations")
    sub.add_parser("ddl", help="CREATE TABLE statements derived from the contracts")
    sub.add_parser("docs", help="print the warehouse reference (docs/warehouse.md)")
    args = parser.parse_args(argv)

    try:
        if args.command == "list":
            for query in all_queries().values():
                print(f"{query.name}\n    {query.description}")
                for p in query.parameters:
                    print(f"    --param {p.name}=<{p.type}>  {p.doc}")
            return 0
        if args.command == "ddl":
            from warehouse.schema import all_create_statements

            print("\n".join(all_create_statements()))
            return 0
        if args.command == "docs":
            from warehouse.reference import render_reference

            print(render_reference(), end="")
            return 0
        settings = Settings()
        ch = settings.clickhouse
        from warehouse.client import connect

        if args.command == "query":
            query = get(args.name)
            raw: dict[str, str] = {}
            for item in args.param:
                if "=" not in item:
                    raise WarehouseError(f"--param takes NAME=VALUE, got {item!r}")
                key, value = item.split("=", 1)
                raw[key] = value
            bound = query.bind(raw)
            client = connect(
                ch.url, database=ch.database, user=ch.user, password=ch.password.get_secret_value()
            )
            result = client.query(query.sql, parameters=bound)
            print(render(list(result.column_names), result.result_rows, args.format))
            return 0
        if args.command == "migrate":
            from warehouse.migrate import migrate

            client = connect(
                ch.url, database=ch.database, user=ch.user, password=ch.password.get_secret_value()
            )
            applied = migrate(client)
            print(f"{len(applied)} migration(s) applied")
            return 0
    except WarehouseError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except Exception as err:
        print(f"error: {type(err).__name__}: {str(err)[:2000]}", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
