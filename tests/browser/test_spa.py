"""The example SPA (demo/spa/) and the API docs in a real browser, against a real provider.

The API runs on pytest-django's live server on 127.0.0.1 with the test database; the
OpenID Connect provider (django-oauth-toolkit) runs in its own process. Chromium clicks
through the SPA, the provider's login and consent pages and back. Screenshots go to
``artifacts/``.
"""

import json

import pytest

from allaccess_api.models import Protocol, Provider, TokenAuthMethod
from tests.browser.conftest import CHROMIUM
from tests.e2e.provider import new_session

pytestmark = [
    pytest.mark.browser,
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: install Debian's chromium package"),
]

SECOND_PROVIDER = "demo-link"
# Operations of the contract's endpoint table that the docs pages must show: providers (list,
# detail), authorize, callback, accounts (list, detail, unlink), five proxy methods, refresh,
# logout, me.
CONTRACT_OPERATION_COUNT = 15


@pytest.fixture
def app_url(live_server, spa_provider, settings):
    """The SPA's URL, with two providers registered: ``demo`` and ``demo-link``, both the same server.

    The second entry lets the SPA link a second provider account to the signed-in user.
    """
    settings.ALLACCESS_API = {
        **settings.ALLACCESS_API,
        "REDIRECT_URIS": [live_server.url + "/callback"],
        "INSECURE_LOOPBACK": True,
    }
    settings.ALLACCESS_DEMO_SPA = True
    for name, display_name in [("demo", "Demo provider"), (SECOND_PROVIDER, "Second demo provider")]:
        Provider.objects.create(
            name=name,
            display_name=display_name,
            protocol=Protocol.OIDC,
            authorization_url=spa_provider.authorization_url,
            access_token_url=spa_provider.token_url,
            profile_url=spa_provider.userinfo_url,
            api_base_url=spa_provider.base_url + "/",
            issuer=spa_provider.issuer,
            jwks_uri=spa_provider.jwks_url,
            scope=["openid", "profile", "email"],
            client_id=spa_provider.client_id,
            client_secret=spa_provider.client_secret,
            token_auth_method=TokenAuthMethod.CLIENT_SECRET_BASIC,
        )
    return live_server.url + "/"


def pass_provider_pages(page, provider, *, allow=True):
    """Sign in on the provider's login page if it shows one, then authorize or cancel."""
    page.wait_for_selector("#id_username, input[name=allow]")
    if page.locator("#id_username").count():
        page.fill("#id_username", provider.username)
        page.fill("#id_password", provider.password)
        page.click("#loginForm button[type=submit]")
    page.wait_for_selector("input[name=allow]")
    if allow:
        page.click("input[name=allow]")
    else:
        page.click("input[type=submit][value=Cancel]")


def sign_in(page, app_url, provider):
    page.goto(app_url)
    page.click("button[data-action=sign-in][data-provider=demo]")
    pass_provider_pages(page, provider)
    page.wait_for_url(app_url)
    page.wait_for_selector("#account-rows tr")


def account_rows(page):
    return [row.split("\t")[:3] for row in page.locator("#account-rows tr").all_inner_texts()]


def stored_tokens(page):
    return json.loads(page.evaluate("sessionStorage.getItem('allaccess.tokens')"))


def test_sign_in_shows_user_and_account(page, app_url, spa_provider, requests_log, artifacts):
    sign_in(page, app_url, spa_provider)
    page.screenshot(path=artifacts / "spa-signed-in.png", full_page=True)

    assert page.inner_text("#notice") == f"Signed in with demo as {spa_provider.username} (new user)."
    assert page.inner_text("#user-username") == spa_provider.username
    assert page.inner_text("#user-name") == f"{spa_provider.given_name} {spa_provider.family_name}"
    assert page.inner_text("#user-email") == spa_provider.email
    assert [row[0] for row in account_rows(page)] == ["demo"]
    assert account_rows(page)[0][2] == "active"
    assert page.url == app_url
    assert requests_log.foreign_urls() == []


def test_proxy_returns_provider_userinfo(page, app_url, spa_provider, requests_log, artifacts):
    sign_in(page, app_url, spa_provider)

    page.click("button[data-action=proxy]")
    page.wait_for_selector("#proxy", state="visible")
    page.screenshot(path=artifacts / "spa-proxy.png", full_page=True)

    assert page.inner_text("#proxy-status") == "HTTP 200"
    userinfo = json.loads(page.inner_text("#proxy-output"))
    assert userinfo["preferred_username"] == spa_provider.username
    assert userinfo["email"] == spa_provider.email
    assert userinfo["sub"] == account_rows(page)[0][1]
    assert page.locator("#errors").is_hidden()
    assert requests_log.foreign_urls() == []


def test_refresh_rotates_tokens(page, app_url, spa_provider):
    sign_in(page, app_url, spa_provider)
    before = stored_tokens(page)

    page.click("#refresh")
    page.wait_for_selector("text=Tokens refreshed")

    after = stored_tokens(page)
    assert after["refresh"] != before["refresh"]
    assert after["access"] != before["access"]
    assert page.locator("#errors").is_hidden()


def test_logout_revokes_refresh_token(page, app_url, spa_provider, live_server, artifacts):
    sign_in(page, app_url, spa_provider)
    refresh = stored_tokens(page)["refresh"]

    page.click("#logout")
    page.wait_for_selector("#signed-out", state="visible")
    page.screenshot(path=artifacts / "spa-signed-out.png", full_page=True)
    with new_session() as session:
        reuse = session.post(f"{live_server.url}/api/v1/auth/refresh/", json={"refresh": refresh}, timeout=10)

    assert page.inner_text("#notice") == "Logged out."
    assert page.evaluate("sessionStorage.getItem('allaccess.tokens')") is None
    assert page.locator("button[data-action=sign-in]").all_inner_texts() == [
        "Sign in with Demo provider", "Sign in with Second demo provider"]
    assert reuse.status_code == 401


def test_link_and_unlink_second_provider(page, app_url, spa_provider, requests_log):
    sign_in(page, app_url, spa_provider)

    page.click(f"button[data-action=link][data-provider={SECOND_PROVIDER}]")
    pass_provider_pages(page, spa_provider)
    page.wait_for_url(app_url)
    page.wait_for_selector(f"#account-rows tr >> text={SECOND_PROVIDER}")
    linked = account_rows(page)
    page.click(f"#account-rows tr:has-text('{SECOND_PROVIDER}') button[data-action=unlink]")
    page.wait_for_selector("text=Account unlinked.")

    assert [row[0] for row in linked] == ["demo", SECOND_PROVIDER]
    assert [row[0] for row in account_rows(page)] == ["demo"]
    assert requests_log.foreign_urls() == []


def test_unlink_last_account_shows_error(page, app_url, spa_provider):
    sign_in(page, app_url, spa_provider)

    page.click("button[data-action=unlink]")
    error = page.wait_for_selector("#error-list li[data-code=last_login_method]")

    assert error.inner_text().startswith("HTTP 409 last_login_method ")
    assert [row[0] for row in account_rows(page)] == ["demo"]


def test_denied_consent_shows_access_denied(page, app_url, spa_provider, artifacts):
    page.goto(app_url)
    page.click("button[data-action=sign-in][data-provider=demo]")
    pass_provider_pages(page, spa_provider, allow=False)
    error = page.wait_for_selector("#error-list li[data-code=access_denied]")
    page.screenshot(path=artifacts / "spa-callback-error.png", full_page=True)

    assert error.inner_text().startswith("HTTP 400 access_denied ")
    assert page.inner_text("#callback-progress") == "The sign-in failed."
    # The code and state are gone from the address bar.
    assert page.url == app_url + "callback"


def test_callback_without_flow_shows_error(page, app_url):
    page.goto(app_url + "callback?code=abc&state=xyz")
    error = page.wait_for_selector("#error-list li[data-code=no_pending_flow]")

    assert "started no sign-in" in error.inner_text()


def test_spa_is_off_without_demo_setting(live_server, settings):
    settings.ALLACCESS_DEMO_SPA = False

    with new_session() as session:
        response = session.get(live_server.url + "/", timeout=10)

    assert response.status_code == 404


def test_swagger_ui_renders_operations(page, live_server, requests_log, artifacts):
    page.goto(live_server.url + "/api/v1/docs/")
    page.wait_for_selector(".opblock-summary")
    page.screenshot(path=artifacts / "docs-swagger.png", full_page=True)

    paths = [path.replace("\u200b", "") for path in page.locator(".opblock-summary-path").all_inner_texts()]
    assert "/api/v1/providers/{name}/authorize/" in paths
    assert len(paths) == CONTRACT_OPERATION_COUNT
    assert requests_log.foreign_urls() == []


def test_redoc_renders_operations(page, live_server, requests_log, artifacts):
    page.goto(live_server.url + "/api/v1/redoc/")
    heading = page.wait_for_selector(".api-content h2:has-text('Start a sign-in or link flow')")
    page.screenshot(path=artifacts / "docs-redoc.png")

    assert heading.is_visible()
    assert page.locator(".api-content h2").count() >= CONTRACT_OPERATION_COUNT
    assert requests_log.foreign_urls() == []


def test_request_log_sees_foreign_hosts(page, requests_log):
    """The network check can fail: a request to another host is recorded (and aborted here).

    The request starts from a blank page, which has no Content-Security-Policy to block it.
    """
    page.route("http://example.invalid/**", lambda route: route.abort())
    page.goto("about:blank")
    page.evaluate("fetch('http://example.invalid/probe').catch(() => null)")

    assert requests_log.foreign_urls() == ["http://example.invalid/probe"]
