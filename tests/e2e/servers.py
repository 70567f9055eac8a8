"""Run the local demo providers in subprocesses for tests, and walk their sign-in pages.

``DemoServer`` runs ``python -m demo.<provider> setup`` and ``serve`` with their logs in a
work directory, waits for the ``ready`` line and stops the server on exit.
``sign_in_and_consent`` walks a provider's login and consent pages like a browser would.
Every HTTP request made here goes to a provider on 127.0.0.1 and nowhere else.
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
from typing import Protocol
from urllib.parse import parse_qsl, urljoin, urlsplit

import requests

from demo.common.processes import stop_processes

logger = logging.getLogger(__name__)

REPOSITORY_ROOT = pathlib.Path(__file__).resolve().parents[2]
LOOPBACK_HOST = "127.0.0.1"

SETUP_TIMEOUT_SECONDS = 60.0
READY_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
POLL_INTERVAL_SECONDS = 0.05
REQUEST_TIMEOUT_SECONDS = 10.0
MAX_SIGN_IN_REQUESTS = 10
LOG_TAIL_CHARACTERS = 4000
PAGE_TEXT_CHARACTERS = 500


class ProviderStartError(RuntimeError):
    """The provider subprocess failed to set up or to start serving."""


class SignInError(RuntimeError):
    """The login and consent pages did not lead to a redirect to the client."""


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


def poll_until(timeout_seconds: float) -> Iterator[float]:
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


def read_tail(path: pathlib.Path) -> str:
    """Return the last ``LOG_TAIL_CHARACTERS`` of a log file, or a placeholder if it does not exist."""
    try:
        return path.read_text(errors="replace")[-LOG_TAIL_CHARACTERS:]
    except FileNotFoundError:
        return "(no log written)"


@dataclass(frozen=True)
class Credentials:
    """The test user's password and the client secret of one provider run."""

    password: str
    client_secret: str

    @classmethod
    def draw(cls) -> "Credentials":
        return cls(password=secrets.token_urlsafe(24), client_secret=secrets.token_urlsafe(32))


@dataclass(frozen=True)
class DemoServer:
    """A demo provider run as ``python -m <module> setup|serve`` with its logs in ``workdir``.

    ``label`` names the provider in messages, such as "OAuth 1.0a provider".
    ``env_prefix`` starts the names of the variables that pass the secrets to ``setup``.
    ``storage_options`` are the options that both subcommands take, such as ``--db PATH``.
    """

    module: str
    label: str
    env_prefix: str
    workdir: pathlib.Path
    file_prefix: str
    storage_options: tuple[str, ...]

    @property
    def setup_log(self) -> pathlib.Path:
        return self.workdir / f"{self.file_prefix}-setup.log"

    @property
    def stdout_log(self) -> pathlib.Path:
        return self.workdir / f"{self.file_prefix}-stdout.log"

    @property
    def stderr_log(self) -> pathlib.Path:
        return self.workdir / f"{self.file_prefix}-stderr.log"

    def command(self, subcommand: str, options: list[str]) -> list[str]:
        return [sys.executable, "-m", self.module, subcommand, *self.storage_options, *options]

    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        environment = dict(os.environ)
        python_path = environment.get("PYTHONPATH", "")
        environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPOSITORY_ROOT), python_path]))
        environment["DJANGO_SETTINGS_MODULE"] = f"{self.module}.settings"
        environment.update(extra or {})
        return environment

    @contextlib.contextmanager
    def start(
        self, setup_options: list[str], credentials: Credentials, port: int
    ) -> Iterator[tuple[subprocess.Popen, str]]:
        """Run ``setup`` and then ``serve``, yield the process and its base URL, and stop it on exit."""
        started_at = time.monotonic()
        self.run_setup(setup_options, credentials)
        with self.serve(port) as (process, base_url):
            logger.info("%s listening on %s after %.1f s", self.label, base_url, time.monotonic() - started_at)
            yield process, base_url

    def run_setup(self, options: list[str], credentials: Credentials) -> None:
        """Run ``setup`` with ``options`` to completion, or raise ``ProviderStartError`` with its log.

        The credentials go through the environment so that they stay out of the process
        list and out of the command shown in a subprocess error.
        """
        secrets_environment = {
            f"{self.env_prefix}_PASSWORD": credentials.password,
            f"{self.env_prefix}_CLIENT_SECRET": credentials.client_secret,
        }
        with self.setup_log.open("w") as setup_log:
            try:
                completed = subprocess.run(
                    self.command("setup", options),
                    cwd=self.workdir,
                    env=self.environment(secrets_environment),
                    stdin=subprocess.DEVNULL,
                    stdout=setup_log,
                    stderr=subprocess.STDOUT,
                    timeout=SETUP_TIMEOUT_SECONDS,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise ProviderStartError(
                    f"{self.label} setup timed out after {SETUP_TIMEOUT_SECONDS:.0f} s; "
                    f"log {self.setup_log}:\n{read_tail(self.setup_log)}"
                ) from None

        if completed.returncode != 0:
            raise ProviderStartError(
                f"{self.label} setup failed with exit code {completed.returncode}; "
                f"log {self.setup_log}:\n{read_tail(self.setup_log)}"
            )

    @contextlib.contextmanager
    def serve(self, port: int) -> Iterator[tuple[subprocess.Popen, str]]:
        """Start ``serve``, yield the process and its base URL once it listens, and stop it on exit.

        ``port`` 0 lets the server bind a free port, which its ``ready`` line reports.
        """
        command = self.command("serve", ["--port", str(port), "--exit-with-parent"])
        with self.stdout_log.open("w") as stdout_log, self.stderr_log.open("w") as stderr_log:
            process = subprocess.Popen(
                command,
                cwd=self.workdir,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=stdout_log,
                stderr=stderr_log,
            )
            logger.info("Started %s process %s on port %s", self.label, process.pid, port)
            try:
                base_url = self._wait_for_ready_line(process)
                self._check_reported_base_url(base_url, port)
                yield process, base_url
            finally:
                stop_processes([process], STOP_TIMEOUT_SECONDS)

    def start_error(self, problem: str) -> ProviderStartError:
        """Return a ``ProviderStartError`` with ``problem`` and the end of the server's stderr."""
        return ProviderStartError(f"{problem}; stderr {self.stderr_log}:\n{read_tail(self.stderr_log)}")

    def _wait_for_ready_line(self, process: subprocess.Popen) -> str:
        """Return the base URL from the server's ``ready`` line, printed once its socket listens."""
        for _ in poll_until(READY_TIMEOUT_SECONDS):
            for line in self.stdout_log.read_text(errors="replace").splitlines():
                if line.startswith("ready "):
                    return line.removeprefix("ready ").strip()
            if process.poll() is not None:
                raise self.start_error(f"{self.label} exited with code {process.returncode} before it was ready")
        raise self.start_error(f"{self.label} printed no ready line within {READY_TIMEOUT_SECONDS:.0f} s")

    def _check_reported_base_url(self, base_url: str, requested_port: int) -> None:
        reported = urlsplit(base_url)
        valid = reported.scheme == "http" and reported.hostname == LOOPBACK_HOST and reported.port is not None
        if not valid or requested_port not in (0, reported.port):
            raise ProviderStartError(
                f"{self.label} reported {base_url}, expected http://{LOOPBACK_HOST}:{requested_port or 'PORT'}"
            )


def user_options(username: str, first_name: str, last_name: str, email: str) -> list[str]:
    """Return the ``setup`` options of the test user, which both providers take."""
    return ["--username", username, "--first-name", first_name, "--last-name", last_name, "--email", email]


def repeated_option(option: str, values: list[str]) -> list[str]:
    """Return ``option`` followed by each value in turn, such as ``--redirect-uri A --redirect-uri B``."""
    return [item for value in values for item in (option, value)]


class SignInTarget(Protocol):
    """A running provider as ``sign_in_and_consent`` uses it: its base URL and its test user."""

    base_url: str
    username: str
    password: str


def sign_in_and_consent(
    provider: SignInTarget,
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
    (the form whose submit input is named "allow") with that input (``allow``) or without it,
    which denies. It stops at the first redirect to ``redirect_uri`` (the Location starts
    with it, followed by nothing, "?", "&" or "#") and does not request that URL. The
    returned dict contains the query and fragment parameters of that Location: code,
    state and iss, or error and error_description, from the OpenID Connect provider;
    state, oauth_token and oauth_verifier, or state and denied, from the OAuth 1.0a provider.

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
    provider: SignInTarget,
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
    provider: SignInTarget,
    method: str,
    url: str,
    data: dict[str, str] | None = None,
) -> requests.Response:
    _check_provider_url(provider, url)
    return session.request(method, url, data=data, allow_redirects=False, timeout=REQUEST_TIMEOUT_SECONDS)


def _check_provider_url(provider: SignInTarget, url: str) -> None:
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
