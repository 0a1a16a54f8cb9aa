"""Start, find, measure and stop the local services by PID file. No shell, no guessing by name."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from streams.pids import alive


class ServiceFailed(RuntimeError):
    """A service did not start; the message carries the service's own last log lines."""


@dataclass(frozen=True)
class ProcessFiles:
    name: str
    run_dir: Path
    log_dir: Path

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def pid(self) -> int | None:
        """The PID from the PID file if that process is alive (and not a zombie), else None."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if alive(pid) else None


def spawn(
    files: ProcessFiles,
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    user: str | None = None,
    secrets: Sequence[str] = (),
) -> int:
    """Start ``argv`` detached, its output appended to its log after a line naming the command
    (with each of ``secrets``, such as a stream key in a publish URL, masked)."""
    files.run_dir.mkdir(parents=True, exist_ok=True)
    files.log_dir.mkdir(parents=True, exist_ok=True)
    command = " ".join(argv)
    for secret in secrets:
        command = command.replace(secret, "***")
    with files.log_file.open("ab") as log:
        log.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {command}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            user=user,
            group=user,
            extra_groups=[] if user else None,
        )
    files.pid_file.write_text(str(proc.pid))
    return proc.pid


def log_tail(files: ProcessFiles, lines: int = 25) -> str:
    try:
        text = files.log_file.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log written)"
    marker = text.rfind("\n==== ")
    recent = text[marker:] if marker >= 0 else text
    return "\n".join(recent.strip().splitlines()[-lines:])


def wait_until(
    files: ProcessFiles, pid: int, ready: Callable[[], bool], timeout_s: float, what: str
) -> float:
    """Poll ``ready`` until it holds; fail fast with the log if the process dies first."""
    start = time.monotonic()
    while True:
        if not alive(pid):
            files.pid_file.unlink(missing_ok=True)
            raise ServiceFailed(
                f"{files.name} exited while starting. Its log ({files.log_file}):\n{log_tail(files)}"
            )
        with contextlib.suppress(Exception):
            if ready():
                return time.monotonic() - start
        if time.monotonic() - start > timeout_s:
            raise ServiceFailed(
                f"{files.name} did not become ready ({what}) within {timeout_s:.0f}s. "
                f"Its log ({files.log_file}):\n{log_tail(files)}"
            )
        time.sleep(0.1)


def stop(files: ProcessFiles, sig: int = signal.SIGTERM, timeout_s: float = 30.0) -> bool:
    """Signal the PID's process group, wait for it, escalate to SIGKILL. True if something ran."""
    pid = files.pid()
    if pid is None:
        files.pid_file.unlink(missing_ok=True)
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
    deadline = time.monotonic() + timeout_s
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        while alive(pid):
            time.sleep(0.05)
    files.pid_file.unlink(missing_ok=True)
    return True


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def tree_memory_mb(pid: int) -> float:
    """Proportional set size (PSS) of a process and its descendants, in MiB."""
    total_kb = 0
    for p in [pid, *_descendants(pid)]:
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kb += int(line.split()[1])
                    break
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
    return total_kb / 1024


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, IndexError, ValueError, ProcessLookupError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out: list[int] = []
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            out.append(child)
            stack.append(child)
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process, in seconds (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def machine_busy_seconds() -> float:
    """CPU seconds the machine's cores have spent busy since boot, all processes and the kernel
    (``/proc/stat``: one read, cheap enough to sample often while a benchmark runs)."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # minus idle, iowait


def service_pids(run_dir: Path, log_dir: Path, *names: str) -> dict[str, int]:
    """The PIDs of the local services ``make up`` started, by name (those not running left out)."""
    pids = {name: ProcessFiles(name, run_dir, log_dir).pid() for name in names}
    return {name: pid for name, pid in pids.items() if pid is not None}


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its descendants, in seconds."""
    return sum(cpu_seconds(p) for p in [pid, *_descendants(pid)])


def stop_child(proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    """Terminate a child we started, wait for it, kill it if it does not stop."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
