"""Start ``python -m demo.run`` (what ``make run`` runs) on free ports for tests, and stop it."""

import contextlib
import os
import pathlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import requests

from tests.e2e.provider import REPOSITORY_ROOT, find_free_port, new_session

READY_TIMEOUT_SECONDS = 90.0
STOP_TIMEOUT_SECONDS = 20.0
POLL_INTERVAL_SECONDS = 0.2
READY_LINE = "The demo is running"
LOG_TAIL_CHARACTERS = 4000


class DemoStartError(RuntimeError):
    """``demo.run`` exited or printed no ready banner in time."""


@dataclass(frozen=True)
class RunningDemo:
    process: subprocess.Popen
    app_url: str
    api_url: str
    state_dir: pathlib.Path
    stdout_log: pathlib.Path
    stderr_log: pathlib.Path

    def log_tail(self) -> str:
        return "\n".join(path.read_text(errors="replace")[-LOG_TAIL_CHARACTERS:]
                         for path in (self.stdout_log, self.stderr_log))


def child_pids(pid: int) -> set[int]:
    """Return the ids of the processes whose parent is ``pid``, read from /proc (Linux)."""
    children = set()
    for stat_file in pathlib.Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # The command name in parentheses may contain spaces, so split after its last ")".
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                children.add(int(stat_file.parent.name))
    return children


def is_running(pid: int) -> bool:
    """Return whether ``pid`` exists and is not a zombie."""
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@contextlib.contextmanager
def run_demo(workdir: pathlib.Path) -> Iterator[RunningDemo]:
    """Run the demo with its state and SQLite database in ``workdir``; stop it with SIGTERM on exit."""
    port, provider_port = find_free_port(), find_free_port()
    environment = dict(os.environ)
    environment["DATABASE_URL"] = f"sqlite:///{workdir / 'api.sqlite3'}"
    environment.pop("DJANGO_SECRET_KEY", None)
    command = [
        sys.executable, "-m", "demo.run",
        "--port", str(port),
        "--provider-port", str(provider_port),
        "--state-dir", str(workdir / "state"),
    ]
    stdout_log, stderr_log = workdir / "demo-stdout.log", workdir / "demo-stderr.log"
    with stdout_log.open("w") as stdout, stderr_log.open("w") as stderr:
        process = subprocess.Popen(command, cwd=REPOSITORY_ROOT, env=environment,
                                   stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr)
    demo = RunningDemo(process, f"http://127.0.0.1:{port}/", f"http://127.0.0.1:{port}/api/v1/",
                       workdir / "state", stdout_log, stderr_log)
    try:
        wait_until_ready(demo)
        yield demo
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_SECONDS)


def wait_until_ready(demo: RunningDemo) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if demo.process.poll() is not None:
            raise DemoStartError(f"demo.run exited with code {demo.process.returncode}:\n{demo.log_tail()}")
        if READY_LINE in demo.stdout_log.read_text(errors="replace"):
            return
        time.sleep(POLL_INTERVAL_SECONDS)
    raise DemoStartError(f"demo.run printed no ready banner within {READY_TIMEOUT_SECONDS:.0f} s:\n{demo.log_tail()}")


def get(url: str) -> requests.Response:
    with new_session() as session:
        return session.get(url, timeout=10)
