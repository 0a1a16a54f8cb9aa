"""The observe profile: Prometheus, Alertmanager and the platform exporter, on loopback.

``python -m ops up --observe`` (``make observe``) installs Debian's ``prometheus`` and
``prometheus-alertmanager`` when missing and starts:

- Prometheus, scraping every process that announced itself in the targets folder
  (``streams.metrics.serve_metrics``: the API, gateway nodes, worker, relay, sinks, media,
  exporter, whoever started them), evaluating ``ops/prometheus/alerts.yml``;
- Alertmanager, posting every alert to the API's receiver (``OBSERVE_WEBHOOK_URL``), which
  publishes it as an ``ops.alert`` event on Kafka;
- the exporter (``python -m streams.exporter``): consumer lag of every platform group and
  the ledger audit.

The configuration files are rendered by the functions below, so a test can run its own pair
on other ports with the same rules.
"""

from __future__ import annotations

import json
import shutil
import sys
import urllib.parse
import urllib.request
from pathlib import Path

from ops.processes import spawn
from ops.services import Service, apt_install
from streams.metrics import targets_dir
from streams.settings import REPO_ROOT, Settings

RULES = REPO_ROOT / "ops" / "prometheus" / "alerts.yml"
RULE_TESTS = REPO_ROOT / "ops" / "prometheus" / "alerts_test.yml"
ALERTMANAGER = "prometheus-alertmanager"  # Debian's name for the binary


def prometheus_config(
    *, targets: Path, alertmanager: str, scrape_interval_s: int, rules: Path = RULES
) -> str:
    """prometheus.yml: file-based discovery of the announced targets, the rules, Alertmanager."""
    config = {
        "global": {
            "scrape_interval": f"{scrape_interval_s}s",
            "evaluation_interval": f"{scrape_interval_s}s",
        },
        "rule_files": [str(rules)],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": [
            {
                "job_name": "platform",
                "file_sd_configs": [{"files": [str(targets / "*.json")], "refresh_interval": "2s"}],
            }
        ],
    }
    return json.dumps(config, indent=2)  # JSON is YAML


def alertmanager_config(*, webhook_url: str, token_file: Path) -> str:
    """alertmanager.yml: every alert, grouped per rule and subject, to the platform's receiver."""
    config = {
        "route": {
            "receiver": "platform",
            "group_by": ["alertname", "group", "job", "stream"],
            "group_wait": "1s",
            "group_interval": "5s",
            "repeat_interval": "1h",
        },
        "receivers": [
            {
                "name": "platform",
                "webhook_configs": [
                    {
                        "url": webhook_url,
                        "send_resolved": True,
                        "http_config": {
                            "authorization": {"type": "Bearer", "credentials_file": str(token_file)}
                        },
                    }
                ],
            }
        ],
    }
    return json.dumps(config, indent=2)


def ensure_observe_tools() -> None:
    missing = [
        p
        for p, binary in (("prometheus", "prometheus"), (ALERTMANAGER, ALERTMANAGER))
        if not shutil.which(binary)
    ]
    if missing:
        apt_install(*missing)


def prometheus_argv(config: Path, data: Path, port: int) -> list[str]:
    return [
        "prometheus",
        f"--config.file={config}",
        f"--storage.tsdb.path={data}",
        "--storage.tsdb.retention.time=7d",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle",
    ]


def alertmanager_argv(config: Path, data: Path, port: int) -> list[str]:
    return [
        ALERTMANAGER,
        f"--config.file={config}",
        f"--storage.path={data}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",  # one instance, no gossip port
    ]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


class Prometheus(Service):
    name = "prometheus"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def port(self) -> int:
        return self.settings.observe.prometheus_port

    def install(self) -> None:
        ensure_observe_tools()

    def launch(self) -> int:
        observe = self.settings.observe
        config = self.settings.local.run_dir / "prometheus" / "prometheus.yml"
        config.parent.mkdir(parents=True, exist_ok=True)
        targets = targets_dir(self.settings.local.run_dir)
        targets.mkdir(parents=True, exist_ok=True)
        config.write_text(
            prometheus_config(
                targets=targets,
                alertmanager=f"127.0.0.1:{observe.alertmanager_port}",
                scrape_interval_s=observe.scrape_interval_s,
            )
        )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return spawn(self.files, prometheus_argv(config, self.data_dir, self.port))

    def ready(self) -> bool:
        return answers(f"{self.url}/-/ready")

    def version(self) -> str:
        with urllib.request.urlopen(f"{self.url}/api/v1/status/buildinfo", timeout=2) as response:
            return f"Prometheus {json.load(response)['data']['version']}"


class Alertmanager(Service):
    name = "alertmanager"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def port(self) -> int:
        return self.settings.observe.alertmanager_port

    def install(self) -> None:
        ensure_observe_tools()

    def launch(self) -> int:
        observe = self.settings.observe
        folder = self.settings.local.run_dir / "alertmanager"
        folder.mkdir(parents=True, exist_ok=True)
        token = folder / "webhook_token"
        token.touch(mode=0o600)
        token.write_text(observe.webhook_token.get_secret_value())
        config = folder / "alertmanager.yml"
        config.write_text(alertmanager_config(webhook_url=observe.webhook_url, token_file=token))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return spawn(self.files, alertmanager_argv(config, self.data_dir, self.port))

    def ready(self) -> bool:
        return answers(f"{self.url}/-/ready")

    def version(self) -> str:
        with urllib.request.urlopen(f"{self.url}/api/v2/status", timeout=2) as response:
            return f"Alertmanager {json.load(response)['versionInfo']['version']}"


class Exporter(Service):
    name = "exporter"

    @property
    def url(self) -> str:
        """Where it serves its metrics (it picks a free port and announces it)."""
        pid = self.files.pid()
        announcement = targets_dir(self.settings.local.run_dir) / f"exporter-{pid}.json"
        if pid is None or not announcement.exists():
            return "http://127.0.0.1/metrics"
        return f"http://{json.loads(announcement.read_text())[0]['targets'][0]}/metrics"

    @property
    def port(self) -> int:
        return 0

    def launch(self) -> int:
        return spawn(self.files, [sys.executable, "-m", "streams.exporter"], cwd=REPO_ROOT)

    def ready(self) -> bool:
        pid = self.files.pid()
        return (
            pid is not None and (targets_dir(self.settings.local.run_dir) / f"exporter-{pid}.json").exists()
        )

    def version(self) -> str:
        return "streams.exporter"


def observe_services(settings: Settings) -> list[Service]:
    return [Prometheus(settings), Alertmanager(settings), Exporter(settings)]


def _vector(prometheus: str, promql: str, by: str) -> dict[str, float]:
    url = f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    with urllib.request.urlopen(url, timeout=5) as response:
        result = json.load(response)["data"]["result"]
    return {r["metric"].get(by, ""): float(r["value"][1]) for r in result}


def figures(prometheus: str) -> str:
    """Each deployable's processes, request, error and record rates, each group's lag and the
    alerts firing, from Prometheus (what `make status` prints under the services)."""
    up = _vector(prometheus, "sum by (job) (up)", "job")
    requests = _vector(prometheus, "sum by (job) (rate(http_requests_total[1m]))", "job")
    errors = _vector(prometheus, 'sum by (job) (rate(http_requests_total{status=~"5.."}[1m]))', "job")
    records = _vector(prometheus, "sum by (job) (rate(kafka_records_consumed_total[1m]))", "job")
    lag = _vector(prometheus, "sum by (group) (kafka_consumer_lag)", "group")
    firing = _vector(prometheus, 'count by (alertname) (ALERTS{alertstate="firing"})', "alertname")
    lines = [f"{'deployable':<13}{'processes':>10}{'requests/s':>12}{'5xx/s':>8}{'records/s':>11}"]
    for job in sorted(up):
        lines.append(
            f"{job:<13}{up[job]:>10.0f}{requests.get(job, 0):>12.1f}{errors.get(job, 0):>8.2f}{records.get(job, 0):>11.1f}"
        )
    lines += [f"lag {group}: {behind:,.0f} records" for group, behind in sorted(lag.items())]
    lines.append(
        "alerts firing: " + (", ".join(f"{name} ({n:.0f})" for name, n in sorted(firing.items())) or "none")
    )
    return "\n".join(lines)
