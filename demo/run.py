"""Run the demo: a local OpenID Connect provider, the API and the example SPA, until Ctrl-C.

``make run`` calls ``python -m demo.run``. The steps:

1. ``python -m demo.provider setup`` creates the provider's database, signing key, demo user
   and OAuth client under the state directory (``.demo/`` by default).
2. ``python -m demo.provider serve`` starts the provider on 127.0.0.1.
3. ``manage.py migrate`` and ``manage.py providers set demo ...`` prepare the product's
   database (``DATABASE_URL``, SQLite ``db.sqlite3`` by default) and register the provider.
4. ``manage.py runserver --noreload`` serves the API, its docs and the example SPA.

The demo user's password and the OAuth client secret are drawn once and kept in
``STATE_DIR/demo.json`` (mode 0600), so the printed credentials stay the same across restarts. Ctrl-C or SIGTERM stops both servers and waits for them. When one server exits on its
own, the other is stopped too and the exit code is 1.
"""

import argparse
import contextlib
import ctypes
import json
import logging
import os
import secrets
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from demo.common.processes import stop_processes

logger = logging.getLogger("demo.run")

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
LOOPBACK_HOST = "127.0.0.1"
PROVIDER_NAME = "demo"
CLIENT_ID = "allaccess-demo"
USERNAME = "demo"
GIVEN_NAME = "Ada"
FAMILY_NAME = "Lovelace"
EMAIL = "demo@example.com"
SCOPE = "openid profile email"
MOBILE_REDIRECT_URI = "com.example.app:/oauth/callback"

SETUP_TIMEOUT_SECONDS = 120.0
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0
POLL_INTERVAL_SECONDS = 0.2
REQUEST_TIMEOUT_SECONDS = 2.0

# prctl(2) option: the kernel sends the child a signal when the process that started it dies.
PR_SET_PDEATHSIG = 1


class DemoError(RuntimeError):
    """A step of the demo failed. The message names the step and what to do next."""


@dataclass(frozen=True)
class DemoState:
    """Values drawn once per state directory and kept in ``demo.json``."""

    password: str
    client_secret: str

    @classmethod
    def load_or_create(cls, path: Path) -> "DemoState":
        if path.is_file():
            stored = json.loads(path.read_text(encoding="utf-8"))
            return cls(stored["password"], stored["client_secret"])
        return cls(
            password=secrets.token_urlsafe(12),
            client_secret=secrets.token_urlsafe(32),
        )


@dataclass(frozen=True)
class DemoURLs:
    """Addresses of the demo's two servers."""

    host: str
    port: int
    provider_port: int

    @property
    def app(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def api(self) -> str:
        return f"{self.app}api/v1/"

    @property
    def provider(self) -> str:
        return f"http://{LOOPBACK_HOST}:{self.provider_port}"

    def spa_redirect_uris(self) -> list[str]:
        # The SPA builds its redirect URI from the origin in the address bar, so both names
        # of the loopback host are allowed.
        hosts = dict.fromkeys([self.host, "127.0.0.1", "localhost"])
        return [f"http://{host}:{self.port}/callback" for host in hosts]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m demo.run",
        description="Run the local OpenID Connect provider, the API and the example SPA until Ctrl-C.",
    )
    parser.add_argument("--host", default=LOOPBACK_HOST, help="Address the API listens on (default: %(default)s).")
    parser.add_argument("--port", type=int, default=8000, help="Port of the API and the SPA (default: %(default)s).")
    parser.add_argument(
        "--provider-port",
        type=int,
        default=8001,
        help="Port of the demo provider on 127.0.0.1 (default: %(default)s).",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=REPOSITORY_ROOT / ".demo",
        help="Directory of the provider's database, key and logs and of demo.json (default: .demo/).",
    )
    return parser


def write_state(path: Path, state: DemoState, urls: DemoURLs) -> None:
    """Write ``demo.json`` with mode 0600: the drawn secrets and, for examples, the URLs."""
    content = {
        "password": state.password,
        "client_secret": state.client_secret,
        "username": USERNAME,
        "provider": PROVIDER_NAME,
        "api_url": urls.api,
        "provider_url": urls.provider,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    file_descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(file_descriptor, "w", encoding="utf-8") as state_file:
        json.dump(content, state_file, indent=2)


def check_port_free(host: str, port: int, option: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers do: connections of a previous run in TIME_WAIT do not block the port.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise DemoError(
                f"cannot listen on {host}:{port} ({error.strerror}): stop the program that uses it "
                f"or choose another port with {option}"
            ) from None


def stop_with_parent() -> None:
    """Make the kernel send SIGTERM to this child when the demo process dies (Linux only).

    Ctrl-C and SIGTERM are handled in ``run``; this covers a demo process killed with SIGKILL.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start_child(command: list[str], environment: dict[str, str], **kwargs) -> subprocess.Popen:
    preexec = stop_with_parent if sys.platform.startswith("linux") else None
    return subprocess.Popen(
        command,
        cwd=REPOSITORY_ROOT,
        env=environment,
        stdin=subprocess.DEVNULL,
        preexec_fn=preexec,
        **kwargs,
    )


def run_step(description: str, command: list[str], environment: dict[str, str], *, stdin_text: str = "") -> None:
    """Run one set-up command to completion; its output goes to the terminal."""
    logger.info("%s", description)
    try:
        completed = subprocess.run(
            command,
            cwd=REPOSITORY_ROOT,
            env=environment,
            input=stdin_text,
            text=True,
            timeout=SETUP_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DemoError(f"{description} timed out after {SETUP_TIMEOUT_SECONDS:.0f} s") from None
    if completed.returncode != 0:
        raise DemoError(f"{description} failed with exit code {completed.returncode} (see the output above)")


def provider_command(subcommand: str, state_dir: Path) -> list[str]:
    return [
        sys.executable, "-m", "demo.provider", subcommand,
        "--db", str(state_dir / "provider.sqlite3"),
        "--key", str(state_dir / "provider-rsa-key.pem"),
    ]


def set_up_provider(state_dir: Path, state: DemoState, urls: DemoURLs) -> None:
    command = provider_command("setup", state_dir) + [
        "--username", USERNAME,
        "--first-name", GIVEN_NAME,
        "--last-name", FAMILY_NAME,
        "--email", EMAIL,
        "--client-id", CLIENT_ID,
        "--client-name", "allaccess-api example app",
    ]
    for redirect_uri in urls.spa_redirect_uris() + [MOBILE_REDIRECT_URI]:
        command += ["--redirect-uri", redirect_uri]
    # The secrets go through the environment, which keeps them out of the process list.
    environment = {
        **os.environ,
        "DEMO_PROVIDER_PASSWORD": state.password,
        "DEMO_PROVIDER_CLIENT_SECRET": state.client_secret,
    }
    run_step("Setting up the demo provider in " + str(state_dir), command, environment)


def start_provider(state_dir: Path, urls: DemoURLs, stop_requested: threading.Event) -> subprocess.Popen:
    """Start the provider and return its process once it prints its ready line."""
    command = provider_command("serve", state_dir) + ["--port", str(urls.provider_port), "--exit-with-parent"]
    process = start_child(command, dict(os.environ), stdout=subprocess.PIPE, text=True)
    logger.info("Started the demo provider (process %s)", process.pid)

    expected = f"ready {urls.provider}"
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if stop_requested.is_set():
                raise DemoError("stopped before the demo provider was ready")
            if not selector.select(timeout=POLL_INTERVAL_SECONDS):
                continue
            line = process.stdout.readline()
            if not line:
                raise DemoError(f"the demo provider exited with code {process.wait()} before it was ready")
            if line.strip() == expected:
                return process
    raise DemoError(f"the demo provider printed no {expected!r} line within {READY_TIMEOUT_SECONDS:.0f} s")


def product_environment(urls: DemoURLs) -> dict[str, str]:
    # Without DJANGO_SECRET_KEY, every process reads project/settings.py's development key file.
    environment = dict(os.environ)
    environment.setdefault("DJANGO_DEBUG", "1")
    extra_redirect_uris = [uri for uri in environment.get("ALLACCESS_REDIRECT_URIS", "").split(",") if uri]
    redirect_uris = dict.fromkeys(urls.spa_redirect_uris() + [MOBILE_REDIRECT_URI] + extra_redirect_uris)
    environment["ALLACCESS_REDIRECT_URIS"] = ",".join(redirect_uris)
    environment["ALLACCESS_INSECURE_LOOPBACK"] = "1"
    environment["ALLACCESS_DEMO_SPA"] = "1"
    return environment


def set_up_product(state: DemoState, urls: DemoURLs, environment: dict[str, str]) -> None:
    manage = [sys.executable, "manage.py"]
    run_step("Migrating the API's database", manage + ["migrate", "--no-input"], environment)
    provider = urls.provider
    register = manage + [
        "providers", "set", PROVIDER_NAME,
        "--protocol", "oidc",
        # Discovery fills the issuer and the JWKS URI, so ID tokens and the iss parameter get checked.
        "--issuer", f"{provider}/o",
        "--display-name", "Demo provider",
        "--authorization-url", f"{provider}/o/authorize/",
        "--access-token-url", f"{provider}/o/token/",
        "--profile-url", f"{provider}/o/userinfo/",
        "--api-base-url", f"{provider}/",
        "--scope", SCOPE,
        "--client-id", CLIENT_ID,
        "--client-secret", "-",
        "--token-auth-method", "client_secret_basic",
        "--enable",
    ]
    run_step(f"Registering the provider {PROVIDER_NAME!r}", register, environment, stdin_text=state.client_secret + "\n")


def start_product(urls: DemoURLs, environment: dict[str, str], stop_requested: threading.Event) -> subprocess.Popen:
    """Start the API with runserver and return its process once it responds."""
    command = [sys.executable, "manage.py", "runserver", f"{urls.host}:{urls.port}", "--noreload"]
    process = start_child(command, environment)
    logger.info("Started the API (process %s)", process.pid)

    probe_url = f"{urls.api}providers/"
    with requests.Session() as session:
        session.trust_env = False
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if stop_requested.is_set():
                raise DemoError("stopped before the API was ready")
            if process.poll() is not None:
                raise DemoError(f"the API exited with code {process.returncode} before it was ready")
            with contextlib.suppress(requests.RequestException):
                if session.get(probe_url, timeout=REQUEST_TIMEOUT_SECONDS).status_code == 200:
                    return process
            time.sleep(POLL_INTERVAL_SECONDS)
    raise DemoError(f"the API did not respond to {probe_url} within {READY_TIMEOUT_SECONDS:.0f} s")


def print_banner(urls: DemoURLs, state: DemoState) -> None:
    print(
        f"""
The demo is running. Press Ctrl-C to stop it.

  Example app (SPA)   {urls.app}
  API                 {urls.api}
  API docs            {urls.api}docs/   and   {urls.api}redoc/
  Demo provider       {urls.provider}/   (OpenID Connect issuer {urls.provider}/o)

  Sign in at the demo provider as
      username  {USERNAME}
      password  {state.password}

  Mobile example      .venv/bin/python -m examples.mobile_flow
""",
        flush=True,
    )


def run(args: argparse.Namespace) -> int:
    urls = DemoURLs(args.host, args.port, args.provider_port)
    state_dir = args.state_dir.resolve()
    state_file = state_dir / "demo.json"
    check_port_free(args.host, args.port, "--port (make run PORT=...)")
    check_port_free(LOOPBACK_HOST, args.provider_port, "--provider-port (make run DEMO_PROVIDER_PORT=...)")

    state = DemoState.load_or_create(state_file)
    write_state(state_file, state, urls)

    stop_requested = threading.Event()

    def request_stop(signal_number, frame):
        logger.info("Received %s; stopping the demo", signal.Signals(signal_number).name)
        stop_requested.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    processes: list[subprocess.Popen] = []
    try:
        set_up_provider(state_dir, state, urls)
        processes.append(start_provider(state_dir, urls, stop_requested))
        environment = product_environment(urls)
        set_up_product(state, urls, environment)
        processes.append(start_product(urls, environment, stop_requested))
        print_banner(urls, state)
        return wait_for_stop(processes, stop_requested)
    except DemoError as error:
        if stop_requested.is_set():
            return 0
        logger.error("%s", error)
        return 1
    finally:
        stop_processes(processes, STOP_TIMEOUT_SECONDS)


def wait_for_stop(processes: list[subprocess.Popen], stop_requested: threading.Event) -> int:
    """Wait for Ctrl-C or SIGTERM (return 0) or for a server to exit on its own (return 1)."""
    while not stop_requested.wait(timeout=POLL_INTERVAL_SECONDS):
        for process in processes:
            if process.poll() is not None:
                logger.error("Process %s exited with code %s; stopping the demo", process.pid, process.returncode)
                return 1
    return 0


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        sys.exit(run(args))
    except DemoError as error:
        logger.error("%s", error)
        sys.exit(1)


if __name__ == "__main__":
    main()
