"""Start the local OAuth 1.0a provider (``demo.oauth1_provider``) for tests and sign in through it.

``run_oauth1_provider`` sets up and serves the provider in a subprocess on 127.0.0.1.
``sign_in_and_authorize`` walks its login and allow/deny pages like a browser would and
returns the parameters of the final redirect to the client. Every HTTP request made
here goes to the provider on 127.0.0.1 and nowhere else.
"""

import contextlib
import pathlib
from collections.abc import Iterator
from dataclasses import dataclass

from tests.e2e.servers import (
    Credentials,
    DemoServer,
    repeated_option,
    sign_in_and_consent,
    user_options,
)

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

    server = DemoServer(
        module="demo.oauth1_provider",
        label="OAuth 1.0a provider",
        env_prefix="DEMO_OAUTH1_PROVIDER",
        workdir=workdir,
        file_prefix="oauth1-provider",
        storage_options=("--db", str(workdir / "oauth1-provider.sqlite3")),
    )
    credentials = Credentials.draw()
    setup_options = user_options(USERNAME, FIRST_NAME, LAST_NAME, EMAIL)
    setup_options += ["--client-key", CLIENT_KEY, "--client-name", CLIENT_NAME]
    setup_options += repeated_option("--callback-uri", callback_uris)

    with server.start(setup_options, credentials, 0) as (_process, base_url):
        yield RunningOAuth1Provider(
            base_url=base_url,
            request_token_url=f"{base_url}/oauth/request_token",
            authorization_url=f"{base_url}/oauth/authorize",
            access_token_url=f"{base_url}/oauth/access_token",
            profile_url=f"{base_url}/1.1/account/verify_credentials.json",
            api_base_url=f"{base_url}/1.1/",
            client_key=CLIENT_KEY,
            client_secret=credentials.client_secret,
            username=USERNAME,
            password=credentials.password,
            first_name=FIRST_NAME,
            last_name=LAST_NAME,
            email=EMAIL,
        )


# The provider's Allow button is a submit input named "allow", as in DOT's consent form, so
# the same walk signs in here. After Allow the redirect carries state, oauth_token and
# oauth_verifier, and after Deny it carries state and denied.
sign_in_and_authorize = sign_in_and_consent
