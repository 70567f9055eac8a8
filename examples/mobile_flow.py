"""A native app's sign-in against the running demo: private-use URI scheme, PKCE, system browser.

Start the demo with ``make run``, then, in another terminal::

    .venv/bin/python -m examples.mobile_flow

The app side is in ``sign_in``. It makes its own PKCE verifier and calls ``authorize`` to start
a flow for the redirect URI ``com.example.app:/oauth/callback``. The system browser opens the
authorization URL. The app checks the ``state`` of the redirect it receives, and posts the code
with its verifier to ``callback``. A real app opens the system browser (ASWebAuthenticationSession,
Custom Tabs) and receives the redirect from the operating system. Here a requests session
plays the browser: it signs in and consents on the demo provider's pages as the demo user
and stops at the redirect to the app.
"""

import argparse
import base64
import hashlib
import json
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

import requests

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
REDIRECT_URI = "com.example.app:/oauth/callback"
REQUEST_TIMEOUT_SECONDS = 20.0

# Opens the authorization URL in the system browser and returns the query parameters of the
# redirect to the app's redirect URI.
SystemBrowser = Callable[[str, str], dict[str, str]]


class FlowError(RuntimeError):
    """The API returned an error, or the redirect did not belong to this flow."""

    def __init__(self, message: str, errors: list[dict] | None = None):
        super().__init__(message)
        self.errors = errors or []


def make_verifier() -> str:
    """Return a PKCE code verifier: 32 random bytes, base64url without padding (RFC 7636 §4.1)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode("ascii")


def s256_challenge(verifier: str) -> str:
    """Return base64url(SHA-256(verifier)), the S256 code challenge (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def post(session: requests.Session, url: str, body: dict) -> dict:
    response = session.post(url, json=body, timeout=REQUEST_TIMEOUT_SECONDS)
    data = response.json() if "json" in response.headers.get("Content-Type", "") else {}
    if not response.ok:
        errors = data.get("errors", [])
        described = "; ".join(f"{error['code']}: {error['detail']}" for error in errors) or response.text[:200]
        raise FlowError(f"POST {url} returned HTTP {response.status_code}: {described}", errors)
    return data


def callback_body(redirect: dict[str, str], state: str, verifier: str) -> dict[str, str]:
    """Build the callback request from the redirect's parameters: the code, or the error."""
    body = {"state": state, "code_verifier": verifier}
    if "error" in redirect:
        body["error"] = redirect["error"]
        if "error_description" in redirect:
            body["error_description"] = redirect["error_description"]
        return body
    body["code"] = redirect.get("code", "")
    if "iss" in redirect:
        body["iss"] = redirect["iss"]
    return body


def sign_in(api_url: str, provider: str, open_system_browser: SystemBrowser,
            session: requests.Session | None = None) -> dict:
    """Run the app's whole sign-in and return the body of ``callback``: JWTs, user and account.

    Raises ``FlowError`` when the API rejects a step or the redirect carries another ``state``.
    """
    session = session or requests.Session()
    verifier = make_verifier()
    started = post(session, f"{api_url}providers/{provider}/authorize/", {
        "redirect_uri": REDIRECT_URI,
        "code_challenge": s256_challenge(verifier),
        "code_challenge_method": "S256",
    })

    redirect = open_system_browser(started["authorization_url"], REDIRECT_URI)
    # The operating system hands any app that claims the scheme this redirect, so the app
    # accepts it only with the state of the flow it started itself.
    if not secrets.compare_digest(redirect.get("state", ""), started["state"]):
        raise FlowError("the redirect's state is not the state of this flow; ignoring it")

    return post(session, f"{api_url}providers/{provider}/callback/",
                callback_body(redirect, started["state"], verifier))


def demo_browser(demo_state: dict) -> SystemBrowser:
    """Return a stand-in for the system browser that signs in on the demo provider as the demo user."""
    # The login and consent walk of the end-to-end tests: it requests only the provider's pages.
    from tests.e2e.provider import RunningProvider, sign_in_and_consent

    base_url = demo_state["provider_url"]
    provider = RunningProvider(
        base_url=base_url,
        issuer=f"{base_url}/o",
        authorization_url=f"{base_url}/o/authorize/",
        token_url=f"{base_url}/o/token/",
        userinfo_url=f"{base_url}/o/userinfo/",
        jwks_url=f"{base_url}/o/.well-known/jwks.json",
        revocation_url=f"{base_url}/o/revoke_token/",
        client_id="",
        client_secret="",
        username=demo_state["username"],
        password=demo_state["password"],
        given_name="",
        family_name="",
        email="",
    )

    def open_system_browser(authorization_url: str, redirect_uri: str) -> dict[str, str]:
        return sign_in_and_consent(provider, authorization_url, redirect_uri)

    return open_system_browser


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.mobile_flow", description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", type=Path, default=REPOSITORY_ROOT / ".demo",
                        help="State directory of the running demo, with demo.json (default: .demo/).")
    args = parser.parse_args(argv)

    state_file = args.state_dir / "demo.json"
    if not state_file.is_file():
        parser.error(f"{state_file} not found: start the demo with `make run` first")
    demo_state = json.loads(state_file.read_text(encoding="utf-8"))

    with requests.Session() as session:
        session.trust_env = False
        try:
            result = sign_in(demo_state["api_url"], demo_state["provider"], demo_browser(demo_state), session)
        except (FlowError, requests.RequestException) as error:
            print(f"Sign-in failed: {error}", file=sys.stderr)
            return 1

    user = result["user"]
    print(f"Signed in as {user['username']} (user {user['id']}, {user['first_name']} {user['last_name']}, "
          f"{user['email'] or 'no email'}); new user: {result['user_created']}.")
    print(f"Linked account: {result['account']['provider']} {result['account']['identifier']}.")
    print("The app now keeps the refresh JWT in the platform's secure storage (Keychain, Keystore).")
    return 0


if __name__ == "__main__":
    if not __package__:
        # Run as `python examples/mobile_flow.py`: make `tests.e2e` importable from the repository root.
        sys.path.insert(0, str(REPOSITORY_ROOT))
    sys.exit(main())
