"""Tests of the ``providers`` and ``purge_authorizations`` management commands."""

import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from allaccess_api.models import AccountAccess, PendingAuthorization, Protocol, Provider
from tests.conftest import CLIENT_SECRET, make_provider

URL_OPTIONS = {
    "--authorization-url": "https://github.test/login/oauth/authorize",
    "--access-token-url": "https://github.test/login/oauth/access_token",
    "--profile-url": "https://api.github.test/user",
    "--api-base-url": "https://api.github.test/",
}


def run(*args):
    """Run ``manage.py providers ARGS`` and return its stdout and stderr joined."""
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("providers", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue() + stderr.getvalue()


def options(**overrides):
    """Return ``set`` options for the github provider, as command-line arguments."""
    values = {**URL_OPTIONS, **overrides}
    return [item for option, value in values.items() for item in (option, value)]


def set_github(*extra):
    return run("set", "github", *options(), "--client-id", "github-id", "--client-secret", CLIENT_SECRET, *extra)


@pytest.fixture
def loopback_allowed(settings):
    settings.ALLACCESS_API = {**settings.ALLACCESS_API, "INSECURE_LOOPBACK": True}


def pending_authorization(provider, state_hash, expires_at):
    return PendingAuthorization.objects.create(
        state_hash=state_hash, provider=provider, redirect_uri="https://spa.example/callback", expires_at=expires_at
    )


# providers set: create and update


@pytest.mark.django_db
def test_set_creates_provider():
    set_github("--display-name", "GitHub")

    provider = Provider.objects.get(name="github")
    assert provider.display_name == "GitHub"
    assert provider.protocol == Protocol.OAUTH2
    assert provider.authorization_url == URL_OPTIONS["--authorization-url"]
    assert provider.access_token_url == URL_OPTIONS["--access-token-url"]
    assert provider.profile_url == URL_OPTIONS["--profile-url"]
    assert provider.api_base_url == URL_OPTIONS["--api-base-url"]
    assert provider.client_id == "github-id"
    assert provider.client_secret == CLIENT_SECRET
    assert provider.is_enabled


@pytest.mark.django_db
def test_set_reports_created():
    output = set_github()

    assert output == "Created provider 'github' (oauth2), enabled.\n"


@pytest.mark.django_db
def test_set_without_credentials_is_disabled():
    run("set", "github", *options())

    assert not Provider.objects.get(name="github").is_enabled


@pytest.mark.django_db
def test_set_again_updates_only_given_options():
    set_github("--display-name", "GitHub", "--scope", "read:user user:email",
               "--api-header", "X-Client-Id: abc", "--token-auth-method", "client_secret_basic", "--no-pkce")
    before = Provider.objects.get(name="github")

    output = run("set", "github", "--display-name", "GitHub Enterprise")

    after = Provider.objects.get(name="github")
    assert output.startswith("Updated provider 'github'")
    assert after.display_name == "GitHub Enterprise"
    for field in ("protocol", "authorization_url", "access_token_url", "profile_url", "api_base_url", "scope",
                  "api_headers", "client_id", "client_secret", "token_auth_method", "pkce", "enabled",
                  "identifier_path", "trust_email", "legacy_oauth1"):
        assert getattr(after, field) == getattr(before, field), field


@pytest.mark.django_db
def test_set_new_secret_replaces_old():
    set_github()

    run("set", "github", "--client-secret", "new-secret-value-2")

    assert Provider.objects.get(name="github").client_secret == "new-secret-value-2"


@pytest.mark.django_db
def test_set_rejects_invalid_name():
    with pytest.raises(CommandError):
        run("set", "not a slug", *options())

    assert not Provider.objects.exists()


@pytest.mark.django_db
def test_set_new_provider_needs_urls():
    with pytest.raises(CommandError):
        run("set", "github", "--client-id", "github-id")

    assert not Provider.objects.exists()


@pytest.mark.django_db
def test_set_oauth1_needs_request_token_url():
    with pytest.raises(CommandError):
        run("set", "twitter", "--protocol", "oauth1", *options())

    assert not Provider.objects.exists()


@pytest.mark.django_db
def test_set_rejects_unknown_protocol():
    with pytest.raises(CommandError):
        run("set", "github", "--protocol", "oauth3", *options())

    assert not Provider.objects.exists()


@pytest.mark.django_db
def test_set_identifier_path_stored():
    run("set", "github", *options(), "--identifier-path", "data.0.id")

    assert Provider.objects.get(name="github").identifier_path == "data.0.id"


@pytest.mark.django_db
def test_set_legacy_oauth1_stored():
    run("set", "github", *options(), "--legacy-oauth1")

    assert Provider.objects.get(name="github").legacy_oauth1 is True


# providers set: --preset and --issuer


@pytest.mark.django_db
def test_set_preset_fills_endpoints():
    run("set", "github", "--preset", "github", "--client-id", "github-id", "--client-secret", CLIENT_SECRET)

    provider = Provider.objects.get(name="github")
    assert provider.authorization_url.startswith("https://")
    assert provider.access_token_url.startswith("https://")
    assert provider.profile_url.startswith("https://")


@pytest.mark.django_db
def test_set_issuer_reads_discovery(mock_http):
    mock_http.get(
        "https://issuer.test/.well-known/openid-configuration",
        json={
            "issuer": "https://issuer.test",
            "authorization_endpoint": "https://issuer.test/authorize",
            "token_endpoint": "https://issuer.test/token",
            "userinfo_endpoint": "https://issuer.test/userinfo",
            "jwks_uri": "https://issuer.test/jwks",
        },
    )
    mock_http.get("https://issuer.test/jwks", json={"keys": []})

    run("set", "corp", "--issuer", "https://issuer.test", "--client-id", "corp-id", "--client-secret", CLIENT_SECRET)

    provider = Provider.objects.get(name="corp")
    assert provider.protocol == Protocol.OIDC
    assert provider.authorization_url == "https://issuer.test/authorize"
    assert provider.access_token_url == "https://issuer.test/token"
    assert provider.profile_url == "https://issuer.test/userinfo"


# providers set: scope, headers, secret from stdin


@pytest.mark.django_db
@pytest.mark.parametrize(
    "value, expected",
    [
        ("a b", ["a", "b"]),
        ("a,b", ["a", "b"]),
        ("a, b", ["a", "b"]),
        ("openid profile email", ["openid", "profile", "email"]),
        ("b a b", ["b", "a"]),
    ],
)
def test_set_scope_gives_list(value, expected):
    run("set", "github", *options(), "--scope", value)

    assert Provider.objects.get(name="github").scope == expected


@pytest.mark.django_db
def test_set_api_header_stored():
    run("set", "github", *options(), "--api-header", "X-Client-Id: abc")

    assert Provider.objects.get(name="github").api_headers == {"X-Client-Id": "abc"}


@pytest.mark.django_db
def test_set_api_header_repeated():
    run("set", "github", *options(), "--api-header", "X-Client-Id: abc", "--api-header", "Accept: application/json")

    assert Provider.objects.get(name="github").api_headers == {"X-Client-Id": "abc", "Accept": "application/json"}


@pytest.mark.django_db
def test_set_api_header_value_keeps_colons():
    run("set", "github", *options(), "--api-header", "X-Trace: a:b:c")

    assert Provider.objects.get(name="github").api_headers == {"X-Trace": "a:b:c"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    [
        "X-Client-Id abc",
        ": abc",
        "X Client Id: abc",
        "X-Client\n-Id: abc",
        "X-Clíent-Id: abc",
        "X-Client-Id: abc\r\nX-Injected: 1",
        "X-Client-Id: abc\nX-Injected: 1",
    ],
)
def test_set_malformed_api_header_fails(header):
    with pytest.raises(CommandError):
        run("set", "github", *options(), "--api-header", header)

    assert not Provider.objects.exists()


@pytest.mark.django_db
def test_set_client_secret_from_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("secret-from-stdin-3\n"))

    run("set", "github", *options(), "--client-id", "github-id", "--client-secret", "-")

    assert Provider.objects.get(name="github").client_secret == "secret-from-stdin-3"


# providers set: URL schemes


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/authorize",
        "http://[::1]:8000/authorize",
        "http://localhost:8000/authorize",
    ],
)
def test_set_rejects_http_loopback_by_default(url):
    with pytest.raises(CommandError):
        run("set", "github", *options(**{"--authorization-url": url}))

    assert not Provider.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/authorize",
        "http://[::1]:8000/authorize",
        "http://localhost:8000/authorize",
    ],
)
def test_set_accepts_http_loopback_with_flag(loopback_allowed, url):
    run("set", "github", *options(**{"--authorization-url": url}))

    assert Provider.objects.get(name="github").authorization_url == url


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "http://github.test/authorize",
        "http://10.0.0.1/authorize",
        "http://192.168.1.10:8000/authorize",
        "http://172.16.0.1/authorize",
        "http://0.0.0.0:8000/authorize",
        "http://localhost.github.test/authorize",
        "http://127.0.0.1@github.test/authorize",
        "ftp://127.0.0.1/authorize",
    ],
)
def test_set_rejects_http_non_loopback(loopback_allowed, url):
    with pytest.raises(CommandError):
        run("set", "github", *options(**{"--authorization-url": url}))

    assert not Provider.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("option", ["--access-token-url", "--profile-url", "--api-base-url", "--request-token-url"])
def test_set_rejects_http_in_any_url_option(option):
    with pytest.raises(CommandError):
        run("set", "github", *options(**{option: "http://github.test/path"}))

    assert not Provider.objects.exists()


# providers set: enable and disable


@pytest.mark.django_db
def test_set_disable():
    set_github()

    run("set", "github", "--disable")

    provider = Provider.objects.get(name="github")
    assert provider.enabled is False
    assert not Provider.objects.enabled().filter(name="github").exists()


@pytest.mark.django_db
def test_set_enable():
    set_github("--disable")

    run("set", "github", "--enable")

    provider = Provider.objects.get(name="github")
    assert provider.enabled is True
    assert Provider.objects.enabled().filter(name="github").exists()


@pytest.mark.django_db
def test_set_enable_with_disable_fails():
    with pytest.raises(CommandError):
        run("set", "github", *options(), "--enable", "--disable")

    assert not Provider.objects.exists()


# Secrets in output


@pytest.mark.django_db
def test_set_output_hides_secret():
    output = set_github()

    assert CLIENT_SECRET not in output


@pytest.mark.django_db
def test_set_error_output_hides_secret():
    with pytest.raises(CommandError) as excinfo:
        run("set", "github", *options(**{"--profile-url": "http://github.test/user"}),
            "--client-secret", CLIENT_SECRET)

    assert CLIENT_SECRET not in str(excinfo.value)


@pytest.mark.django_db
def test_list_output_hides_secret(provider):
    output = run("list")

    assert CLIENT_SECRET not in output


# providers list


@pytest.mark.django_db
def test_list_shows_providers():
    make_provider("github")
    make_provider("gitlab", client_id="", client_secret="")

    lines = run("list").splitlines()

    assert lines[0].split("\t") == ["NAME", "PROTOCOL", "CLIENT_ID", "API_BASE_URL", "STATE"]
    assert lines[1].split("\t") == ["github", "oauth2", "github-client-id", "https://api.github.test/", "enabled"]
    assert lines[2].split("\t")[:4] == ["gitlab", "oauth2", "-", "https://api.gitlab.test/"]
    assert lines[2].split("\t")[4].startswith("disabled until it has a client id and a client secret")
    assert len(lines) == 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--disable"], "disabled (switched off; --enable turns it on)"),
        (["--client-secret", ""], "disabled until it has a client secret (--client-secret)"),
    ],
)
def test_set_says_why_provider_is_disabled(options, expected):
    make_provider("github")

    output = run("set", "github", *options)

    assert f"Updated provider 'github' (oauth2), {expected}." in output


@pytest.mark.django_db
def test_secret_from_empty_stdin_is_rejected(monkeypatch):
    make_provider("github")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))

    with pytest.raises(CommandError, match="standard input was empty"):
        run("set", "github", "--client-secret", "-")

    assert Provider.objects.get(name="github").client_secret == CLIENT_SECRET


@pytest.mark.django_db
def test_list_without_providers():
    output = run("list")

    assert output.startswith("No providers.")


# providers remove


@pytest.mark.django_db
def test_remove_deletes_provider(provider):
    output = run("remove", provider.name)

    assert output == "Removed provider 'example'.\n"
    assert not Provider.objects.filter(name=provider.name).exists()


@pytest.mark.django_db
def test_remove_refuses_provider_with_accounts(provider):
    user = get_user_model().objects.create_user("octocat")
    AccountAccess.objects.create(provider=provider, identifier="583231", user=user, access_token="tok")

    with pytest.raises(CommandError):
        run("remove", provider.name)

    assert Provider.objects.filter(name=provider.name).exists()
    assert AccountAccess.objects.count() == 1


@pytest.mark.django_db
def test_remove_unknown_provider_fails():
    with pytest.raises(CommandError) as excinfo:
        run("remove", "nope")

    assert str(excinfo.value) == "No provider named 'nope'."


# purge_authorizations


@pytest.mark.django_db
def test_purge_deletes_only_expired(provider):
    now = timezone.now()
    pending_authorization(provider, "a" * 64, now - timedelta(minutes=1))
    pending_authorization(provider, "b" * 64, now - timedelta(days=3))
    unexpired = pending_authorization(provider, "c" * 64, now + timedelta(minutes=5))
    used = pending_authorization(provider, "d" * 64, now + timedelta(minutes=5))
    PendingAuthorization.objects.filter(pk=used.pk).update(used_at=now)
    stdout = io.StringIO()

    call_command("purge_authorizations", stdout=stdout)

    assert stdout.getvalue() == "Deleted 2 expired pending authorizations.\n"
    assert set(PendingAuthorization.objects.values_list("pk", flat=True)) == {unexpired.pk, used.pk}


@pytest.mark.django_db
def test_purge_with_nothing_expired(provider):
    pending_authorization(provider, "c" * 64, timezone.now() + timedelta(minutes=5))
    stdout = io.StringIO()

    call_command("purge_authorizations", stdout=stdout)

    assert stdout.getvalue() == "Deleted 0 expired pending authorizations.\n"
    assert PendingAuthorization.objects.count() == 1
