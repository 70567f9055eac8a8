"""Start the local OAuth 1.0a provider (``demo.oauth1_provider``) for tests and sign in through it.

``run_oauth1_provider`` sets up and serves the provider in a subprocess on 127.0.0.1.
``sign_in_and_authorize`` walks its login and allow/deny pages like a browser would and
returns the parameters of the final redirect to the client. Every HTTP request made
here goes to the provider on 127.0.0.1 and nowhere else.
"""

import contextlib
import logging
import os
import pathlib
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import requests

from tests.e2e.provider import (
    READY_TIMEOUT_SECONDS,
    REPOSITORY_ROOT,
    SETUP_TIMEOUT_SECONDS,
    ProviderStartError,
    _check_reported_base_url,
    _poll_until,
    _read_tail,
    _stop,
    sign_in_and_consent,
)

logger = logging.getLogger(__name__)

CLIENT_KEY = "allaccessE2EOAuth1ClientKey"
CLIENT_NAME = "allaccess-api end-to-end tests"
USERNAME = "e2e-oauth1-user"
FIRST_NAME = "Grace"
LAST_NAME = "Hopper"
EMAIL = "e2e-oauth1-user@example.com"


@dataclass(frozen=True)
class RunningOAuth1Provider:
    """Endpoints and credentials of a provider started by ``run_oauth1_provider``."""

    base_url: str
    request_token_url: str
    authorization_url: str
    access_token_url: str
    profile_url: str
    api_base_url: str
    client_key: str
    client_secret: str
    username: str
    password: str
    first_name: str
    last_name: str
    email: str


@dataclass(frozen=True)
class _ProviderFiles:
    database: pathlib.Path
    setup_log: pathlib.Path
    stdout_log: pathlib.Path
    stderr_log: pathlib.Path

    @classmethod
    def in_directory(cls, workdir: pathlib.Path) -> "_ProviderFiles":
        return cls(
            database=workdir / "oauth1-provider.sqlite3",
            setup_log=workdir / "oauth1-provider-setup.log",
            stdout_log=workdir / "oauth1-provider-stdout.log",
            stderr_log=workdir / "oauth1-provider-stderr.log",
        )


@contextlib.contextmanager
def run_oauth1_provider(workdir: pathlib.Path, callback_uris: list[str]) -> Iterator[RunningOAuth1Provider]:
    """Set up and start the provider in a subprocess on a free port, and stop it (and wait) on exit.

    The database and logs go to ``workdir``. The client key and username are fixed, while
    the client secret and password are random for each call. ``callback_uris`` are the
    callbacks the client may use, compared without their query strings. Raises
    ``ProviderStartError`` with the end of the provider's log if setup fails, the server
    exits or it is not ready in time.
    """
    workdir = pathlib.Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if not callback_uris:
        raise ValueError("callback_uris is empty: the OAuth 1.0a client needs at least one callback URI")

    files = _ProviderFiles.in_directory(workdir)
    password = secrets.token_urlsafe(24)
    client_secret = secrets.token_urlsafe(32)

    started_at = time.monotonic()
    _run_setup(files, callback_uris, password=password, client_secret=client_secret)
    with _serve(files) as base_url:
        logger.info("OAuth 1.0a provider ready on %s after %.1f s", base_url, time.monotonic() - started_at)
        yield RunningOAuth1Provider(
            base_url=base_url,
            request_token_url=f"{base_url}/oauth/request_token",
            authorization_url=f"{base_url}/oauth/authorize",
            access_token_url=f"{base_url}/oauth/access_token",
            profile_url=f"{base_url}/1.1/account/verify_credentials.json",
            api_base_url=f"{base_url}/1.1/",
            client_key=CLIENT_KEY,
            client_secret=client_secret,
            username=USERNAME,
            password=password,
            first_name=FIRST_NAME,
            last_name=LAST_NAME,
            email=EMAIL,
        )


def _environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    environment = dict(os.environ)
    python_path = environment.get("PYTHONPATH", "")
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPOSITORY_ROOT), python_path]))
    environment["DJANGO_SETTINGS_MODULE"] = "demo.oauth1_provider.settings"
    environment.update(extra or {})
    return environment


def _run_setup(files: _ProviderFiles, callback_uris: list[str], *, password: str, client_secret: str) -> None:
    command = [
        sys.executable, "-m", "demo.oauth1_provider", "setup",
        "--db", str(files.database),
        "--username", USERNAME,
        "--first-name", FIRST_NAME,
        "--last-name", LAST_NAME,
        "--email", EMAIL,
        "--client-key", CLIENT_KEY,
        "--client-name", CLIENT_NAME,
    ]
    for callback_uri in callback_uris:
        command += ["--callback-uri", callback_uri]
    # Secrets go through the environment so that they stay out of the process list
    # and out of the command shown in a subprocess error.
    environment = _environment(
        {"DEMO_OAUTH1_PROVIDER_PASSWORD": password, "DEMO_OAUTH1_PROVIDER_CLIENT_SECRET": client_secret}
    )

    with files.setup_log.open("w") as setup_log:
        try:
            completed = subprocess.run(
                command,
                cwd=files.database.parent,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=setup_log,
                stderr=subprocess.STDOUT,
                timeout=SETUP_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ProviderStartError(
                f"OAuth 1.0a provider setup timed out after {SETUP_TIMEOUT_SECONDS:.0f} s; "
                f"log {files.setup_log}:\n{_read_tail(files.setup_log)}"
            ) from None

    if completed.returncode != 0:
        raise ProviderStartError(
            f"OAuth 1.0a provider setup failed with exit code {completed.returncode}; "
            f"log {files.setup_log}:\n{_read_tail(files.setup_log)}"
        )


@contextlib.contextmanager
def _serve(files: _ProviderFiles) -> Iterator[str]:
    """Start ``serve`` on port 0, yield its base URL once it listens, and stop it on exit."""
    command = [
        sys.executable, "-m", "demo.oauth1_provider", "serve",
        "--db", str(files.database), "--port", "0", "--exit-with-parent",
    ]
    with files.stdout_log.open("w") as stdout_log, files.stderr_log.open("w") as stderr_log:
        process = subprocess.Popen(
            command,
            cwd=files.database.parent,
            env=_environment(),
            stdin=subprocess.DEVNULL,
            stdout=stdout_log,
            stderr=stderr_log,
        )
        logger.info("Started OAuth 1.0a provider process %s", process.pid)
        try:
            base_url = _wait_for_ready_line(process, files)
            _check_reported_base_url(base_url, 0)
            yield base_url
        finally:
            _stop(process)


def _wait_for_ready_line(process: subprocess.Popen, files: _ProviderFiles) -> str:
    """Return the base URL from the server's ``ready`` line, printed once its socket listens."""
    for _ in _poll_until(READY_TIMEOUT_SECONDS):
        for line in files.stdout_log.read_text(errors="replace").splitlines():
            if line.startswith("ready "):
                return line.removeprefix("ready ").strip()
        if process.poll() is not None:
            raise ProviderStartError(
                f"OAuth 1.0a provider exited with code {process.returncode} before it was ready; "
                f"stderr {files.stderr_log}:\n{_read_tail(files.stderr_log)}"
            )
    raise ProviderStartError(
        f"OAuth 1.0a provider printed no ready line within {READY_TIMEOUT_SECONDS:.0f} s; "
        f"stderr {files.stderr_log}:\n{_read_tail(files.stderr_log)}"
    )


def sign_in_and_authorize(
    provider: RunningOAuth1Provider,
    authorization_url: str,
    redirect_uri: str,
    *,
    allow: bool = True,
    username: str | None = None,
    password: str | None = None,
    session: requests.Session | None = None,
) -> dict[str, str]:
    """Sign in, press Allow (``allow``) or Deny, and return the parameters of the redirect to the client.

    The pages are walked by ``tests.e2e.provider.sign_in_and_consent``, which follows
    redirects to the login form, posts the credentials (the provider's test user by
    default) and then the form whose submit input is named "allow". It stops at the
    first redirect to ``redirect_uri`` without requesting it. The result contains
    ``state``, ``oauth_token`` and ``oauth_verifier`` after Allow, and ``state`` and
    ``denied`` after Deny. Raises ``SignInError`` when a page is not as expected.
    """
    return sign_in_and_consent(
        provider, authorization_url, redirect_uri,
        allow=allow, username=username, password=password, session=session,
    )
