"""Start the local OpenID Connect provider (``demo.provider``) for tests and sign in through it.

``run_oidc_provider`` sets up and serves the provider in a subprocess on 127.0.0.1.
``sign_in_and_consent`` walks its login and consent pages like a browser would and returns
the parameters of the final redirect to the client. Every HTTP request made here goes to
the provider on 127.0.0.1 and nowhere else.
"""

import contextlib
import logging
import os
import pathlib
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

import requests

logger = logging.getLogger(__name__)

REPOSITORY_ROOT = pathlib.Path(__file__).resolve().parents[2]
LOOPBACK_HOST = "127.0.0.1"

SETUP_TIMEOUT_SECONDS = 60.0
READY_TIMEOUT_SECONDS = 30.0
DISCOVERY_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 10.0
POLL_INTERVAL_SECONDS = 0.05
REQUEST_TIMEOUT_SECONDS = 10.0
MAX_SIGN_IN_REQUESTS = 10
LOG_TAIL_CHARACTERS = 4000
PAGE_TEXT_CHARACTERS = 500

CLIENT_ID = "allaccess-e2e"
USERNAME = "e2e-user"
GIVEN_NAME = "Ada"
FAMILY_NAME = "Lovelace"
EMAIL = "e2e-user@example.com"

DISCOVERY_PATH = "/o/.well-known/openid-configuration"


class ProviderStartError(RuntimeError):
    """The provider subprocess failed to set up or to start serving."""


class SignInError(RuntimeError):
    """The login and consent pages did not lead to a redirect to the client."""


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


@dataclass(frozen=True)
class _ProviderFiles:
    database: pathlib.Path
    rsa_key: pathlib.Path
    setup_log: pathlib.Path
    stdout_log: pathlib.Path
    stderr_log: pathlib.Path

    @classmethod
    def in_directory(cls, workdir: pathlib.Path) -> "_ProviderFiles":
        return cls(
            database=workdir / "provider.sqlite3",
            rsa_key=workdir / "provider-rsa-key.pem",
            setup_log=workdir / "provider-setup.log",
            stdout_log=workdir / "provider-stdout.log",
            stderr_log=workdir / "provider-stderr.log",
        )


def new_session() -> requests.Session:
    """Create a requests session that ignores proxy settings from the environment.

    ``sign_in_and_consent`` accepts only such sessions, because an HTTP(S)_PROXY
    variable would otherwise send provider traffic to the proxy host.
    """
    session = requests.Session()
    session.trust_env = False
    return session


def find_free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago, for other test servers.

    NOTE: another process can take the port between this check and the server's bind.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK_HOST, 0))
        return probe.getsockname()[1]


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

    files = _ProviderFiles.in_directory(workdir)
    password = secrets.token_urlsafe(24)
    client_secret = secrets.token_urlsafe(32)

    started_at = time.monotonic()
    _run_setup(files, redirect_uris, password=password, client_secret=client_secret)
    with _serve(files, port) as (base_url, discovery):
        logger.info("Provider ready on %s after %.1f s", base_url, time.monotonic() - started_at)
        yield RunningProvider(
            base_url=base_url,
            issuer=discovery["issuer"],
            authorization_url=f"{base_url}/o/authorize/",
            token_url=f"{base_url}/o/token/",
            userinfo_url=f"{base_url}/o/userinfo/",
            jwks_url=f"{base_url}/o/.well-known/jwks.json",
            revocation_url=f"{base_url}/o/revoke_token/",
            client_id=CLIENT_ID,
            client_secret=client_secret,
            username=USERNAME,
            password=password,
            given_name=GIVEN_NAME,
            family_name=FAMILY_NAME,
            email=EMAIL,
        )


def _provider_command(subcommand: str, files: _ProviderFiles) -> list[str]:
    return [
        sys.executable,
        "-m",
        "demo.provider",
        subcommand,
        "--db",
        str(files.database),
        "--key",
        str(files.rsa_key),
    ]


def _provider_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    environment = dict(os.environ)
    python_path = environment.get("PYTHONPATH", "")
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPOSITORY_ROOT), python_path]))
    environment["DJANGO_SETTINGS_MODULE"] = "demo.provider.settings"
    environment.update(extra or {})
    return environment


def _run_setup(files: _ProviderFiles, redirect_uris: list[str], *, password: str, client_secret: str) -> None:
    command = _provider_command("setup", files) + [
        "--username",
        USERNAME,
        "--first-name",
        GIVEN_NAME,
        "--last-name",
        FAMILY_NAME,
        "--email",
        EMAIL,
        "--client-id",
        CLIENT_ID,
    ]
    for redirect_uri in redirect_uris:
        command += ["--redirect-uri", redirect_uri]
    # Secrets go through the environment so that they stay out of the process list
    # and out of the command shown in a subprocess error.
    environment = _provider_environment(
        {"DEMO_PROVIDER_PASSWORD": password, "DEMO_PROVIDER_CLIENT_SECRET": client_secret}
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
                f"provider setup timed out after {SETUP_TIMEOUT_SECONDS:.0f} s; "
                f"log {files.setup_log}:\n{_read_tail(files.setup_log)}"
            ) from None

    if completed.returncode != 0:
        raise ProviderStartError(
            f"provider setup failed with exit code {completed.returncode}; "
            f"log {files.setup_log}:\n{_read_tail(files.setup_log)}"
        )


@contextlib.contextmanager
def _serve(files: _ProviderFiles, port: int) -> Iterator[tuple[str, dict]]:
    """Start ``serve``, yield its base URL and discovery document once both are up, and stop it on exit."""
    command = _provider_command("serve", files) + ["--port", str(port), "--exit-with-parent"]
    with files.stdout_log.open("w") as stdout_log, files.stderr_log.open("w") as stderr_log:
        process = subprocess.Popen(
            command,
            cwd=files.database.parent,
            env=_provider_environment(),
            stdin=subprocess.DEVNULL,
            stdout=stdout_log,
            stderr=stderr_log,
        )
        logger.info("Started provider process %s on port %s", process.pid, port)
        try:
            base_url = _wait_for_ready_line(process, files)
            _check_reported_base_url(base_url, port)
            yield base_url, _wait_for_discovery(process, files, base_url)
        finally:
            _stop(process)


def _check_reported_base_url(base_url: str, requested_port: int) -> None:
    reported = urlsplit(base_url)
    valid = reported.scheme == "http" and reported.hostname == LOOPBACK_HOST and reported.port is not None
    if not valid or requested_port not in (0, reported.port):
        raise ProviderStartError(
            f"provider reported {base_url}, expected http://{LOOPBACK_HOST}:{requested_port or 'PORT'}"
        )


def _poll_until(timeout_seconds: float) -> Iterator[float]:
    """Yield the seconds left before ``timeout_seconds`` expire, sleeping one poll interval between yields.

    Stops at the deadline or after ``timeout_seconds / POLL_INTERVAL_SECONDS + 1`` yields,
    whichever comes first.
    """
    deadline = time.monotonic() + timeout_seconds
    for _ in range(int(timeout_seconds / POLL_INTERVAL_SECONDS) + 1):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        yield remaining
        time.sleep(POLL_INTERVAL_SECONDS)


def _start_error(files: _ProviderFiles, problem: str) -> ProviderStartError:
    return ProviderStartError(f"{problem}; stderr {files.stderr_log}:\n{_read_tail(files.stderr_log)}")


def _wait_for_ready_line(process: subprocess.Popen, files: _ProviderFiles) -> str:
    for _ in _poll_until(READY_TIMEOUT_SECONDS):
        for line in files.stdout_log.read_text(errors="replace").splitlines():
            if line.startswith("ready "):
                return line.removeprefix("ready ").strip()
        if process.poll() is not None:
            raise _start_error(files, f"provider exited with code {process.returncode} before it was ready")
    raise _start_error(files, f"provider printed no ready line within {READY_TIMEOUT_SECONDS:.0f} s")


def _wait_for_discovery(process: subprocess.Popen, files: _ProviderFiles, base_url: str) -> dict:
    """Poll the discovery document until it returns 200, and return it."""
    discovery_url = base_url + DISCOVERY_PATH
    last_problem = "no request sent"
    with new_session() as session:
        for remaining_seconds in _poll_until(DISCOVERY_TIMEOUT_SECONDS):
            if process.poll() is not None:
                problem = f"provider exited with code {process.returncode} before discovery worked"
                raise _start_error(files, problem)
            try:
                response = session.get(discovery_url, timeout=min(REQUEST_TIMEOUT_SECONDS, remaining_seconds))
            except requests.RequestException as error:
                last_problem = f"request failed: {error}"
                continue
            if response.status_code == 200:
                return response.json()
            last_problem = f"HTTP {response.status_code}"
    raise _start_error(
        files,
        f"discovery document {discovery_url} not available within {DISCOVERY_TIMEOUT_SECONDS:.0f} s "
        f"(last attempt: {last_problem})",
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            logger.warning(
                "Provider process %s did not exit within %.0f s of SIGTERM; killing it",
                process.pid,
                STOP_TIMEOUT_SECONDS,
            )
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
    logger.info("Provider process %s exited with code %s", process.pid, process.returncode)


def _read_tail(path: pathlib.Path) -> str:
    try:
        return path.read_text(errors="replace")[-LOG_TAIL_CHARACTERS:]
    except FileNotFoundError:
        return "(no log written)"


def sign_in_and_consent(
    provider: RunningProvider,
    authorization_url: str,
    redirect_uri: str,
    *,
    allow: bool = True,
    username: str | None = None,
    password: str | None = None,
    session: requests.Session | None = None,
) -> dict[str, str]:
    """Sign in, submit the consent form, and return the parameters of the redirect to the client.

    Opens ``authorization_url``, follows redirects to the login form, posts the credentials
    (the provider's test user by default) with the CSRF token, then posts the consent form
    with Authorize (``allow``) or Cancel. It stops at the first redirect to ``redirect_uri``
    (the Location starts with it, followed by nothing, "?", "&" or "#") and does not request
    that URL. The returned dict contains the query and fragment parameters of that Location,
    such as code, state and iss, or error and error_description.

    ``session`` defaults to a fresh ``new_session()``, closed on return. A session that is
    already signed in skips the login form. Raises ``SignInError`` when the provider rejects
    the login, shows an error page, redirects away from its base URL or never redirects to
    ``redirect_uri``.
    """
    credentials = {
        "username": provider.username if username is None else username,
        "password": provider.password if password is None else password,
    }
    if session is None:
        with new_session() as own_session:
            return _sign_in_and_consent(
                own_session, provider, authorization_url, redirect_uri, allow, credentials
            )
    if session.trust_env:
        raise ValueError("session.trust_env is True, so proxy variables could redirect it; use new_session()")
    return _sign_in_and_consent(session, provider, authorization_url, redirect_uri, allow, credentials)


def _sign_in_and_consent(
    session: requests.Session,
    provider: RunningProvider,
    authorization_url: str,
    redirect_uri: str,
    allow: bool,
    credentials: dict[str, str],
) -> dict[str, str]:
    response = _request(session, provider, "GET", authorization_url)
    submitted_forms: set[str] = set()
    for _ in range(MAX_SIGN_IN_REQUESTS):
        if response.is_redirect:
            location = response.headers["Location"]
            if _is_redirect_to(location, redirect_uri):
                return _redirect_parameters(location)
            response = _request(session, provider, "GET", urljoin(response.url, location))
            continue

        page = _parse_page(response.text)
        if response.status_code != 200:
            raise SignInError(f"{_describe(response)} failed: {page.text}")
        if page.login_form is not None:
            form, form_kind, extra_fields = page.login_form, "login", credentials
        elif page.consent_form is not None:
            form, form_kind = page.consent_form, "consent"
            extra_fields = {"allow": page.consent_form.allow_value} if allow else {}
        else:
            raise SignInError(
                f"{_describe(response)} shows neither a login nor a consent form: {page.text}"
            )

        if form_kind in submitted_forms:
            raise SignInError(
                f"{_describe(response)} shows the {form_kind} form again after it was submitted: {page.text}"
            )
        submitted_forms.add(form_kind)
        response = _request(
            session,
            provider,
            "POST",
            urljoin(response.url, form.action),
            data={**form.fields, **extra_fields},
        )

    raise SignInError(
        f"no redirect to {redirect_uri} after {MAX_SIGN_IN_REQUESTS} requests; last: {_describe(response)}"
    )


def _request(
    session: requests.Session,
    provider: RunningProvider,
    method: str,
    url: str,
    data: dict[str, str] | None = None,
) -> requests.Response:
    _check_provider_url(provider, url)
    return session.request(method, url, data=data, allow_redirects=False, timeout=REQUEST_TIMEOUT_SECONDS)


def _check_provider_url(provider: RunningProvider, url: str) -> None:
    """Raise SignInError unless ``url`` points at the provider on 127.0.0.1."""
    target = urlsplit(url)
    base = urlsplit(provider.base_url)
    if base.hostname != LOOPBACK_HOST:
        raise SignInError(f"provider base URL {provider.base_url} is not on {LOOPBACK_HOST}")
    if (target.scheme, target.netloc) != (base.scheme, base.netloc):
        raise SignInError(
            f"request to {target.scheme}://{target.netloc}{target.path} rejected: "
            f"only the provider at {provider.base_url} may be requested"
        )


def _is_redirect_to(location: str, redirect_uri: str) -> bool:
    if not location.startswith(redirect_uri):
        return False
    # Reject a longer path such as ".../callback-other" that merely shares the prefix.
    remainder = location[len(redirect_uri):]
    return remainder == "" or remainder[0] in "?&#"


def _redirect_parameters(location: str) -> dict[str, str]:
    parts = urlsplit(location)
    pairs = parse_qsl(parts.query, keep_blank_values=True) + parse_qsl(parts.fragment, keep_blank_values=True)
    parameters: dict[str, str] = {}
    for name, value in pairs:
        if name in parameters:
            raise SignInError(f"redirect to the client repeats the parameter {name!r}")
        parameters[name] = value
    return parameters


def _describe(response: requests.Response) -> str:
    """Describe a response by method, path and status, leaving out the query string."""
    return f"{response.request.method} {urlsplit(response.url).path} (HTTP {response.status_code})"


@dataclass(frozen=True)
class _Form:
    action: str
    fields: dict[str, str]
    has_password: bool
    allow_value: str | None


@dataclass(frozen=True)
class _Page:
    forms: list[_Form]
    text: str

    @property
    def login_form(self) -> _Form | None:
        return next((form for form in self.forms if form.has_password), None)

    @property
    def consent_form(self) -> _Form | None:
        return next((form for form in self.forms if form.allow_value is not None), None)


class _FormParser(HTMLParser):
    """Collect the forms of an HTML page and its visible text.

    A form's ``fields`` contain its named inputs with their initial values, except
    password and submit inputs. The caller adds the password and chooses the button.
    DOT's consent form marks Authorize as the submit input named "allow", and
    ``allow_value`` stores that input's value. Cancel has no name, so a form posted
    without "allow" denies consent.
    """

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[_Form] = []
        self.text_parts: list[str] = []
        self._form: dict | None = None
        self._skipped_element: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag in ("script", "style"):
            self._skipped_element = tag
        elif tag == "form":
            self._form = {
                "action": attributes.get("action", ""),
                "fields": {},
                "has_password": False,
                "allow": None,
            }
        elif tag == "input" and self._form is not None:
            self._add_input(attributes)

    def _add_input(self, attributes: dict[str, str]) -> None:
        input_type = attributes.get("type", "text").lower()
        name = attributes.get("name", "")
        if input_type == "password":
            self._form["has_password"] = True
        elif input_type == "submit":
            if name == "allow":
                self._form["allow"] = attributes.get("value", "")
        elif name:
            self._form["fields"][name] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._skipped_element:
            self._skipped_element = None
        elif tag == "form" and self._form is not None:
            self.forms.append(
                _Form(
                    action=self._form["action"],
                    fields=self._form["fields"],
                    has_password=self._form["has_password"],
                    allow_value=self._form["allow"],
                )
            )
            self._form = None

    def handle_data(self, data: str) -> None:
        if self._skipped_element is None and data.strip():
            self.text_parts.append(data.strip())


def _parse_page(html: str) -> _Page:
    parser = _FormParser()
    parser.feed(html)
    parser.close()
    return _Page(forms=parser.forms, text=" ".join(parser.text_parts)[:PAGE_TEXT_CHARACTERS])
