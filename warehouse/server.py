"""Run ClickHouse 26.x as a server for many processes, from the chdb-core engine on PyPI.

chdb's one-shot entry runs a full clickhouse-local, which reads ``./config.xml`` from the
working directory; ``SYSTEM START LISTEN`` opens the HTTP and native ports, and a query that
truly sleeps keeps the process (and the listeners) alive. The entry point is undocumented:
chdb-core is pinned and an integration test checks the server answers (MACHINE-NOTES.md).

    python -m warehouse.server --data /abs/data --run /abs/run --http-port 8123 --tcp-port 9000
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from xml.sax.saxutils import escape

# The output format given here becomes the HTTP default, so it must be TabSeparated.
KEEP_ALIVE = (
    "SYSTEM START LISTEN HTTP; SYSTEM START LISTEN TCP; "
    "SELECT max(sleepEachRow(1)) FROM numbers(1000000000000) "
    "SETTINGS max_block_size=1, max_threads=1, max_execution_time=0"
)


def render_config(*, host: str, http_port: int, tcp_port: int, log_dir: Path) -> str:
    return f"""<clickhouse>
  <listen_host>{escape(host)}</listen_host>
  <http_port>{http_port}</http_port>
  <tcp_port>{tcp_port}</tcp_port>
  <max_connections>1024</max_connections>
  <logger>
    <level>warning</level>
    <log>{escape(str(log_dir / "clickhouse-server.log"))}</log>
    <errorlog>{escape(str(log_dir / "clickhouse-server.err.log"))}</errorlog>
    <console>1</console>
  </logger>
</clickhouse>
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True, help="absolute data folder")
    parser.add_argument("--run", type=Path, required=True, help="folder for config.xml and logs")
    parser.add_argument("--host", default="127.0.0.1", help="listen address (loopback by default)")
    parser.add_argument("--http-port", type=int, default=8123)
    parser.add_argument("--tcp-port", type=int, default=9000)
    args = parser.parse_args(argv)

    import chdb  # noqa: F401  # must be imported before changing directory (MACHINE-NOTES.md)
    from chdb import _chdb

    args.data.mkdir(parents=True, exist_ok=True)
    args.run.mkdir(parents=True, exist_ok=True)
    config = render_config(host=args.host, http_port=args.http_port, tcp_port=args.tcp_port, log_dir=args.run)
    (args.run / "config.xml").write_text(config)
    os.chdir(args.run)
    print(
        f"clickhouse (chdb) serving http://{args.host}:{args.http_port} tcp {args.tcp_port} data {args.data}",
        flush=True,
    )
    try:
        _chdb.query(  # type: ignore[attr-defined]
            KEEP_ALIVE, "TabSeparated", path=str(args.data.resolve())
        )
    except Exception as err:  # the engine's own message (port in use, data folder locked)
        print(f"clickhouse server stopped: {err}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
