"""`make dagster`'s UI server with the finance definitions: the assets, their blocking checks, the
daily schedule and the settlement sensor are all there (asked through its GraphQL API)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.integration.conftest import free_port, spawn, stop_process

QUERY = """{ repositoriesOrError { ... on RepositoryConnection { nodes {
  schedules { name cronSchedule } sensors { name }
  assetNodes { assetKey { path } assetChecksOrError { ... on AssetChecks { checks { name blocking } } } }
} } } }"""


def test_the_ui_serves_the_payout_assets_checks_schedule_and_sensor(tmp_path: Path) -> None:
    port = free_port()
    server = spawn(
        ["-m", "dagster_webserver", "-m", "orchestration.definitions", "-h", "127.0.0.1", "-p", str(port)],
        tmp_path / "webserver.log",
        {"DAGSTER_HOME": str(tmp_path)},
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                reply = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": QUERY}, timeout=5)
                if reply.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "webserver.log").read_text()[-3000:]
            time.sleep(0.5)
        (repository,) = reply.json()["data"]["repositoriesOrError"]["nodes"]
        assert repository["schedules"] == [{"name": "daily_payouts_schedule", "cronSchedule": "0 1 * * *"}]
        assert repository["sensors"] == [{"name": "settlement_files"}]
        checks = {
            node["assetKey"]["path"][-1]: node["assetChecksOrError"]["checks"]
            for node in repository["assetNodes"]
        }
        assert set(checks) == {
            "warehouse_creator_earnings",
            "ledger_creator_earnings",
            "payout_batch",
            "payout_postings",
            "creator_statements",
        }
        assert checks["ledger_creator_earnings"] == [{"name": "matches_warehouse", "blocking": True}]
        assert checks["payout_batch"] == [{"name": "great_expectations", "blocking": True}]
    finally:
        stop_process(server)
