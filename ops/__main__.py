"""The local platform: ``python -m ops up|down|status|secrets|migrate``.

up       install what is missing, start Kafka, ClickHouse, Redis and PostgreSQL on loopback,
         create the topics from the registry, apply PostgreSQL and ClickHouse migrations;
         --observe: also Prometheus, Alertmanager and the exporter (ops/observe.py)
down     stop what `up` started (all, or only those recorded with --record)
status   each service, its URL, PID, memory and the version it reports
trace    one event's path across processes (python -m ops trace EVENT_ID)
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import time
import uuid
from pathlib import Path

from ops.observe import answers, figures, observe_services
from ops.processes import ServiceFailed
from ops.services import Service, all_services, ensure_media_tools, is_local
from streams.metrics import prune_targets, targets_dir
from streams.settings import LOCAL_ENV_FILE, Settings

GENERATED_SECRETS = (
    "POSTGRES_PASSWORD",
    "AUTH_TOKEN_SECRET",
    "PAYMENTS_WEBHOOK_SECRET",
    "MEDIA_INGEST_SECRET",
    "OBSERVE_WEBHOOK_TOKEN",
)


OBSERVE_NAMES = {"prometheus", "alertmanager", "exporter"}

# What makes this machine a development one; the code's defaults are production's.
DEVELOPMENT = {"PLATFORM_ENVIRONMENT": "development", "AUTH_DEV_TOKENS": "true"}


def ensure_local_secrets(path: Path = LOCAL_ENV_FILE) -> None:
    """Generate development secrets once, into a git-ignored file readable only by us, and
    declare the machine a development one (dev sign-in on) unless the environment says otherwise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = path.read_text() if path.exists() else ""
    present = {line.split("=", 1)[0] for line in existing.splitlines() if "=" in line}
    wanted = {name: secrets.token_urlsafe(32) for name in GENERATED_SECRETS} | DEVELOPMENT
    missing = {k: v for k, v in wanted.items() if k not in present and k not in os.environ}
    if missing:
        with path.open("a") as out:
            for name, value in missing.items():
                out.write(f"{name}={value}\n")
    if path.exists():
        path.chmod(0o600)


def _selected(settings: Settings, only: list[str] | None, observe: bool = False) -> list[Service]:
    services = [s for s in all_services(settings) if is_local(s)]
    if observe or (only and set(only) & OBSERVE_NAMES):
        services += observe_services(settings)
    if only:
        services = [s for s in services if s.name in only]
    return services


def cmd_up(args: argparse.Namespace) -> int:
    ensure_local_secrets()
    settings = Settings()
    t0 = time.monotonic()
    started: list[str] = []
    try:
        installed = ensure_media_tools()
    except (ServiceFailed, OSError, subprocess.CalledProcessError) as err:
        print(f"✗ media tools: {err}", file=sys.stderr)
        return 1
    if installed:
        print(f"✓ installed  {', '.join(installed)} (Debian)", flush=True)
    if args.observe:
        prune_targets(settings.local.run_dir)
    for service in _selected(settings, args.only, args.observe):
        try:
            now, seconds = service.start(timeout_s=args.timeout)
        except ServiceFailed as err:
            print(f"✗ {service.name}: {err}", file=sys.stderr)
            return 1
        if now:
            started.append(service.name)
            print(f"✓ {service.name:<10} started in {seconds:5.1f}s  {service.url}", flush=True)
        else:
            print(f"✓ {service.name:<10} already running    {service.url}", flush=True)
    if args.record:
        Path(args.record).parent.mkdir(parents=True, exist_ok=True)
        Path(args.record).write_text("\n".join(started) + ("\n" if started else ""))
    if not args.only:
        setup_schemas(settings)
    if args.observe:
        targets = targets_dir(settings.local.run_dir)
        print(
            f"  Prometheus scrapes every process announced in {targets.relative_to(settings.local.cache_dir.parent)}"
        )
    print(f"platform up in {time.monotonic() - t0:.1f}s", flush=True)
    return 0


def setup_schemas(settings: Settings) -> None:
    from streams.bus.admin import ensure_topics
    from streams.postgres.migrate import migrate as migrate_postgres
    from warehouse.client import connect
    from warehouse.migrate import migrate as migrate_clickhouse

    t = time.monotonic()
    report = ensure_topics(
        settings.kafka.bootstrap_servers,
        replication_factor=settings.kafka.replication_factor,
        min_insync_replicas=settings.kafka.min_insync_replicas,
    )
    print(
        f"✓ topics     {len(report.created)} created, {len(report.existing)} present ({time.monotonic() - t:.1f}s)"
    )
    t = time.monotonic()
    applied = migrate_postgres(settings.postgres.dsn())
    print(f"✓ postgres   {len(applied)} migration(s) applied ({time.monotonic() - t:.1f}s)")
    t = time.monotonic()
    ch = settings.clickhouse
    client = connect(ch.url, database=ch.database, user=ch.user, password=ch.password.get_secret_value())
    try:
        applied_ch = migrate_clickhouse(client)
    finally:
        client.close()
    print(f"✓ clickhouse {len(applied_ch)} migration(s) applied ({time.monotonic() - t:.1f}s)")


def cmd_down(args: argparse.Namespace) -> int:
    settings = Settings()
    if not args.recorded:
        from ops.live_demo import stop_live

        for name in stop_live(settings):
            print(f"■ {name:<10} stopped")
    only: list[str] | None = None
    if args.recorded:
        path = Path(args.recorded)
        only = path.read_text().split() if path.exists() else []
    # Stop in reverse order of start: clients of Kafka (none here) first, Kafka last.
    everything = all_services(settings) + observe_services(settings)
    for service in reversed(_selected(settings, only) if only is not None else everything):
        if only is not None and service.name not in only:
            continue
        if service.stop():
            print(f"■ {service.name:<10} stopped")
    return 0


def cmd_status(_: argparse.Namespace) -> int:
    settings = Settings()
    print(f"{'service':<13}{'state':<9}{'pid':>8}{'memory':>10}  {'url':<34} version")
    for service in all_services(settings) + observe_services(settings):
        if not is_local(service):
            print(f"{service.name:<13}{'external':<9}{'-':>8}{'-':>10}  {service.url:<34} -")
            continue
        st = service.status()
        state = "running" if st.pid else "stopped"
        memory = f"{st.memory_mb:.0f} MiB" if st.memory_mb is not None else "-"
        print(f"{st.name:<13}{state:<9}{st.pid or '-':>8}{memory:>10}  {st.url:<34} {st.version}")
    prometheus = f"http://127.0.0.1:{settings.observe.prometheus_port}"
    if answers(f"{prometheus}/-/ready"):
        print()
        print(figures(prometheus))
    return 0


def cmd_migrate(_: argparse.Namespace) -> int:
    setup_schemas(Settings())
    return 0


def cmd_trace(args: argparse.Namespace) -> int:
    from ops.trace import find_trace, render
    from warehouse.client import connect

    ch = Settings().clickhouse
    client = connect(ch.url, database=ch.database, user=ch.user, password=ch.password.get_secret_value())
    trace_id, hops = find_trace(client, args.event_id)
    if not hops:
        print(
            f"no traced row for event {args.event_id} in the warehouse (not sunk yet, or it carried no trace)"
        )
        return 1
    print(render(trace_id, hops))
    return 0


def cmd_secrets(_: argparse.Namespace) -> int:
    ensure_local_secrets()
    print(f"development secrets in {LOCAL_ENV_FILE} (not in git)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the local platform")
    up.add_argument("--only", nargs="*", help="only these services (no schema setup)")
    up.add_argument("--record", help="write the names of the services this call started to this file")
    up.add_argument("--timeout", type=float, default=120.0)
    up.add_argument(
        "--observe", action="store_true", help="also Prometheus, Alertmanager and the exporter (make observe)"
    )
    up.set_defaults(func=cmd_up)
    down = sub.add_parser("down", help="stop the local platform")
    down.add_argument("--recorded", help="stop only the services named in this file (written by up --record)")
    down.set_defaults(func=cmd_down)
    sub.add_parser("status", help="show services, PIDs, memory, versions").set_defaults(func=cmd_status)
    sub.add_parser("migrate", help="create topics, apply migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("secrets", help="generate development secrets").set_defaults(func=cmd_secrets)
    trace = sub.add_parser("trace", help="one event's path across processes, from the warehouse")
    trace.add_argument("event_id", type=uuid.UUID)
    trace.set_defaults(func=cmd_trace)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
