"""The warehouse command line.

    python -m warehouse list                                   the named queries and their parameters
    python -m warehouse query NAME --param k=v [--format table|csv|json]
    python -m warehouse migrate                                apply ClickHouse migrations
    python -m warehouse sql "SELECT ..." [--param k=v] [--format table|csv|json]
                                                               ad-hoc read-only SQL (or the SQL on stdin)
    python -m warehouse ddl [--gates]                          CREATE statements derived from the contracts
    python -m warehouse docs                                   the table reference (docs/warehouse.md)

Exit codes: 0 ok, 2 bad query name or parameter, 1 ClickHouse error.
"""

from __future__ import annotations

import argparse
import sys

from clickhouse_connect.driver.client import Client

from streams.settings import Settings
from warehouse.catalog import all_queries, get
from warehouse.exceptions import WarehouseError
from warehouse.render import render


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
    a = sub.add_parser("sql", help="ad-hoc read-only SQL; {name:Type} placeholders bind --param values")
    a.add_argument("sql", nargs="?", help="the statement (default: read it from stdin)")
    a.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    a.add_argument("--format", choices=["table", "csv", "json"], default="table")
    a.add_argument("--max-seconds", type=int, default=60, help="stop the query after this long")
    sub.add_parser("migrate", help="apply ClickHouse migrations")
    d = sub.add_parser("ddl", help="CREATE TABLE statements derived from the contracts")
    d.add_argument("--gates", action="store_true", help="the first-seen gates instead of the raw tables")
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
            from warehouse.schema import all_create_statements, all_gate_statements

            print("\n".join(all_gate_statements() if args.gates else all_create_statements()))
            return 0
        if args.command == "docs":
            from warehouse.reference import render_reference

            print(render_reference(), end="")
            return 0
        settings = Settings()

        if args.command == "query":
            query = get(args.name)
            bound = query.bind(_params(args.param))
            client = _client(settings)
            result = client.query(query.sql, parameters=bound)
            print(render(list(result.column_names), result.result_rows, args.format))
            return 0
        if args.command == "sql":
            statement = (args.sql if args.sql is not None else sys.stdin.read()).strip().rstrip(";")
            if not statement:
                raise WarehouseError("no SQL given: pass it as an argument or on stdin")
            client = _client(settings)
            # readonly=2: reads only (no INSERT, DDL or SYSTEM), while still allowing query settings.
            result = client.query(
                statement,
                parameters=_params(args.param) or None,
                settings={"readonly": 2, "max_execution_time": args.max_seconds},
            )
            print(render(list(result.column_names), result.result_rows, args.format))
            return 0
        if args.command == "migrate":
            from warehouse.migrate import migrate

            client = _client(settings)
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


def _client(settings: Settings) -> Client:
    from warehouse.client import connect

    ch = settings.clickhouse
    return connect(ch.url, database=ch.database, user=ch.user, password=ch.password.get_secret_value())


def _params(items: list[str]) -> dict[str, str]:
    raw: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise WarehouseError(f"--param takes NAME=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        raw[key] = value
    return raw


if __name__ == "__main__":
    raise SystemExit(main())
