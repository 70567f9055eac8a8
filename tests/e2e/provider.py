"""Start the local OpenID Connect provider (``demo.provider``) for tests and sign in through it.

``run_oidc_provider`` sets up and serves the provider in a subprocess on 127.0.0.1.
``sign_in_and_consent`` (from ``tests.e2e.servers``) walks its login and consent pages like
a browser would and returns the parameters of the final redirect to the client. Every HTTP
request made here goes to the provider on 127.0.0.1 and nowhere else.
"""

import contextlib
import pathlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import requests

from tests.e2e.servers import (
    REPOSITORY_ROOT,
    REQUEST_TIMEOUT_SECONDS,
    Credentials,
    DemoServer,
    ProviderStartError,
    SignInError,
    find_free_port,
    new_session,
    poll_until,
    repeated_option,
    sign_in_and_consent,
    user_options,
)

# Names from tests.e2e.servers are listed too, because other tests, tests/demo and
# examples/mobile_flow.py import them from this module.
__all__ = [
    "REPOSITORY_ROOT",
    "ProviderStartError",
    "RunningProvider",
    "SignInError",
    "find_free_port",
    "new_session",
    "run_oidc_provider",
    "sign_in_and_consent",
]

DISCOVERY_TIMEOUT_SECONDS = 10.0

CLIENT_ID = "allaccess-e2e"
USERNAME = "e2e-user"
GIVEN_NAME = "Ada"
FAMILY_NAME = "Lovelace"
EMAIL = "e2e-user@example.com"

DISCOVERY_PATH = "/o/.well-known/openid-configuration"


@dataclass(frozen=True)
class RunningProvider:
    """Endpoints and credentials of a provider started by ``run_oidc_provider``."""

    base_url: str
    issuer: str
    authorization_url: str
    token_url: str
    userinfo_url: str
    jwks_url: str
    revocation_url: str
    client_id: str
    client_secret: str
    username: str
    password: str
    given_name: str
    family_name: str
    email: str


@contextlib.contextmanager
def run_oidc_provider(
    workdir: pathlib.Path,
    redirect_uris: list[str],
    *,
    port: int | None = None,
) -> Iterator[RunningProvider]:
    """Set up and start the provider in a subprocess, and stop it (and wait) on exit.

    The database, signing key and logs go to ``workdir``. The client ID and username are
    fixed, while the client secret and password are random for each call. Without
    ``port``, the server binds port 0 and reports the free port that the OS chose, so no
    other process can take the port between the choice and the bind. Raises
    ``ProviderStartError`` with the end of the provider's log if setup fails, the server
    exits or it is not ready in time.
    """
    workdir = pathlib.Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if not redirect_uris:
        raise ValueError("redirect_uris is empty: the OAuth client needs at least one redirect URI")
    if port is None:
        port = 0

    server = DemoServer(
        module="demo.provider",
        label="provider",
        env_prefix="DEMO_PROVIDER",
        workdir=workdir,
        file_prefix="provider",
        storage_options=(
            "--db", str(workdir / "provider.sqlite3"),
            "--key", str(workdir / "provider-rsa-key.pem"),
        ),
    )
    credentials = Credentials.draw()
    setup_options = user_options(USERNAME, GIVEN_NAME, FAMILY_NAME, EMAIL) + ["--client-id", CLIENT_ID]
    setup_options += repeated_option("--redirect-uri", redirect_uris)

    with server.start(setup_options, credentials, port) as (process, base_url):
        discovery = _wait_for_discovery(server, process, base_url)
        yield RunningProvider(
            base_url=base_url,
            issuer=discovery["issuer"],
            authorization_url=f"{base_url}/o/authorize/",
            token_url=f"{base_url}/o/token/",
            userinfo_url=f"{base_url}/o/userinfo/",
            jwks_url=f"{base_url}/o/.well-known/jwks.json",
            revocation_url=f"{base_url}/o/revoke_token/",
            client_id=CLIENT_ID,
            client_secret=credentials.client_secret,
            username=USERNAME,
            password=credentials.password,
            given_name=GIVEN_NAME,
            family_name=FAMILY_NAME,
            email=EMAIL,
        )


def _wait_for_discovery(server: DemoServer, process: subprocess.Popen, base_url: str) -> dict:
    """Poll the discovery document until it returns 200, and return it."""
    discovery_url = base_url + DISCOVERY_PATH
    last_problem = "no request sent"
    with new_session() as session:
        for remaining_seconds in poll_until(DISCOVERY_TIMEOUT_SECONDS):
            if process.poll() is not None:
                raise server.start_error(f"provider exited with code {process.returncode} before discovery worked")
            try:
                response = session.get(discovery_url, timeout=min(REQUEST_TIMEOUT_SECONDS, remaining_seconds))
            except requests.RequestException as error:
                last_problem = f"request failed: {error}"
                continue
            if response.status_code == 200:
                return response.json()
            last_problem = f"HTTP {response.status_code}"
    raise server.start_error(
        f"discovery document {discovery_url} not available within {DISCOVERY_TIMEOUT_SECONDS:.0f} s "
        f"(last attempt: {last_problem})"
    )
