"""Every provider preset, set up with ``providers set --preset`` and signed in through the API.

Each fake provider returns the response shapes its documentation shows (values
are placeholders), so a test fails when a preset's endpoints, identifier path or
profile mapping stop matching those shapes.
"""

import base64
import importlib.util
import io
import json
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.core.management import call_command
from django.core.management.base import CommandError

from allaccess_api.models import Protocol, Provider
from allaccess_api.presets import get_preset, load_presets, preset_docs_url
from tests.conftest import CLIENT_SECRET
from tests.idtokens import SigningKey, id_token_claims, jwks, nonce_of
from tests.test_admin import change_url, provider_form_data

pytestmark = pytest.mark.django_db
CLIENT_ID = "preset-client-id"
OAUTH1_CLIENT_MISSING = importlib.util.find_spec("allaccess_api.clients.oauth1") is None


@dataclass
class PresetCase:
    """What a provider sends for one sign-in, and what the API must make of it."""

    token: dict
    profile: dict
    identifier: str
    first_name: str
    last_name: str
    email: str
    username: str = ""
    profile_headers: dict = field(default_factory=dict)


CASES = {
    "github": PresetCase(
        token={"access_token": "gho_placeholder", "scope": "read:user,user:email", "token_type": "bearer"},
        profile={"login": "octocat", "id": 1, "node_id": "MDQ6VXNlcjE=", "type": "User", "name": "Mona Lisa Octocat",
                 "company": "GitHub", "email": "octocat@github.com"},
        identifier="1", first_name="Mona Lisa", last_name="Octocat", email="", username="octocat",
        profile_headers={"X-GitHub-Api-Version": "2022-11-28"},
    ),
    "gitlab": PresetCase(
        token={"access_token": "glpat_placeholder", "token_type": "Bearer", "expires_in": 7200,
               "refresh_token": "refresh-placeholder", "scope": "openid profile email", "created_at": 1700000000},
        profile={"sub": "1234", "sub_legacy": "abc123", "name": "Jane Doe", "nickname": "jdoe",
                 "preferred_username": "jdoe", "email": "jane@example.com", "email_verified": True,
                 "profile": "https://gitlab.com/jdoe", "picture": "https://gitlab.com/avatar.png", "groups": []},
        identifier="1234", first_name="Jane", last_name="Doe", email="jane@example.com", username="jdoe",
    ),
    "google": PresetCase(
        token={"access_token": "ya29.placeholder", "expires_in": 3599, "token_type": "Bearer",
               "scope": "openid https://www.googleapis.com/auth/userinfo.email"},
        profile={"sub": "110169484474386276334", "name": "Jane Doe", "given_name": "Jane", "family_name": "Doe",
                 "picture": "https://lh3.googleusercontent.com/a/photo", "email": "jane@example.com",
                 "email_verified": True, "locale": "en"},
        identifier="110169484474386276334", first_name="Jane", last_name="Doe", email="jane@example.com",
    ),
    "microsoft": PresetCase(
        token={"token_type": "Bearer", "scope": "openid profile email User.Read", "expires_in": 3599,
               "access_token": "eyJ0eXAi.placeholder", "refresh_token": "refresh-placeholder",
               "id_token": "eyJ0eXAi.not.validated"},
        profile={"sub": "OLu859SGc2Sr9ZsqbkG-QbeLgJlb41KcdiPoLYNpSFA", "name": "Mikah Ollenburg",
                 "family_name": "Ollenburg", "given_name": "Mikah",
                 "picture": "https://graph.microsoft.com/v1.0/me/photo/$value", "email": "mikoll@contoso.com"},
        identifier="OLu859SGc2Sr9ZsqbkG-QbeLgJlb41KcdiPoLYNpSFA", first_name="Mikah", last_name="Ollenburg",
        email="",
    ),
    "facebook": PresetCase(
        token={"access_token": "EAAG.placeholder", "token_type": "bearer", "expires_in": 5183944},
        profile={"id": "10158", "name": "Jane Doe", "first_name": "Jane", "last_name": "Doe",
                 "email": "jane@example.com"},
        identifier="10158", first_name="Jane", last_name="Doe", email="",
    ),
    "discord": PresetCase(
        token={"access_token": "6qrZcUqja7812RVdnEKjpzOL4CvHBFG", "token_type": "Bearer", "expires_in": 604800,
               "refresh_token": "D43f5y0ahjqew82jZ4NViEr2YafMKhue", "scope": "identify email"},
        profile={"id": "80351110224678912", "username": "nelly", "discriminator": "0", "global_name": "Nelly Smith",
                 "avatar": "8342729096ea3675442027381ff50dfe", "verified": True, "email": "nelly@discord.com",
                 "flags": 64, "premium_type": 1, "public_flags": 64},
        identifier="80351110224678912", first_name="Nelly", last_name="Smith", email="nelly@discord.com",
        username="nelly",
    ),
    "linkedin": PresetCase(
        token={"access_token": "AQUv.placeholder", "expires_in": 5183999, "scope": "email,openid,profile",
               "token_type": "Bearer", "id_token": "eyJ6aXAi.not.validated"},
        profile={"sub": "782bbtaQ", "name": "John Doe", "given_name": "John", "family_name": "Doe",
                 "picture": "https://media.licdn.com/photo", "locale": "en-US", "email": "doe@email.com",
                 "email_verified": True},
        identifier="782bbtaQ", first_name="John", last_name="Doe", email="doe@email.com",
    ),
    "slack": PresetCase(
        token={"ok": True, "access_token": "xoxp-placeholder", "token_type": "Bearer"},
        profile={"ok": True, "sub": "U0R7JM", "https://slack.com/user_id": "U0R7JM",
                 "https://slack.com/team_id": "T0R7GR", "email": "krane@slack-corp.com", "email_verified": True,
                 "date_email_verified": 1622128723, "name": "krane", "picture": "https://secure.gravatar.com/a.png",
                 "given_name": "Bront", "family_name": "Labradoodle", "locale": "en-US",
                 "https://slack.com/team_name": "kraneflannel", "https://slack.com/team_domain": "kraneflannel"},
        identifier="U0R7JM", first_name="Bront", last_name="Labradoodle", email="krane@slack-corp.com",
        username="krane",
    ),
    "bitbucket": PresetCase(
        token={"access_token": "bb-placeholder", "scopes": "account email", "expires_in": 7200,
               "refresh_token": "refresh-placeholder", "token_type": "bearer"},
        profile={"uuid": "{d301aafa-d676-4ee0-88be-962be7417567}", "account_id": "557058:placeholder",
                 "display_name": "Jane Doe", "nickname": "jdoe", "type": "user", "account_status": "active"},
        identifier="{d301aafa-d676-4ee0-88be-962be7417567}", first_name="Jane", last_name="Doe", email="",
        username="jdoe",
    ),
    "x": PresetCase(
        token={"token_type": "bearer", "expires_in": 7200, "access_token": "x-placeholder",
               "scope": "users.read tweet.read offline.access", "refresh_token": "refresh-placeholder"},
        profile={"data": {"id": "2244994945", "name": "X Dev", "username": "XDevelopers"}},
        identifier="2244994945", first_name="X", last_name="Dev", email="", username="XDevelopers",
    ),
}


def set_preset(name):
    output = io.StringIO()
    call_command("providers", "set", name, "--preset", name, "--client-id", CLIENT_ID,
                 "--client-secret", CLIENT_SECRET, stdout=output)
    return Provider.objects.get(name=name), output.getvalue()


def add_id_token(case, provider, flow, mock_http):
    """Add a signed ID token to the token response of a preset that validates one, and publish its key."""
    if not provider.jwks_uri:
        return case.token
    key = SigningKey("RS256", kid=f"{provider.name}-key")
    mock_http.add(responses.GET, provider.jwks_uri, json=jwks(key))
    claims = id_token_claims(provider, nonce_of(flow), subject=case.identifier)
    return {**case.token, "id_token": key.sign(claims)}


def sign_in(name, start_flow, mock_http):
    """Set up preset ``name``, run one OAuth 2.0 sign-in against its fake, and return the response and endpoints."""
    case = CASES[name]
    provider, _ = set_preset(name)
    flow = start_flow(provider)
    token_call = mock_http.add(responses.POST, provider.access_token_url,
                               json=add_id_token(case, provider, flow, mock_http))
    profile_call = mock_http.add(responses.GET, provider.profile_url, json=case.profile)
    return flow.callback(code="code-1"), token_call, profile_call


def assert_signed_in(response, case):
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["account"]["identifier"] == case.identifier
    assert (body["user"]["first_name"], body["user"]["last_name"]) == (case.first_name, case.last_name)
    assert body["user"]["email"] == case.email
    if case.username:
        assert body["user"]["username"].startswith(case.username)


@pytest.mark.parametrize("name", sorted(CASES))
def test_preset_sign_in(name, start_flow, mock_http):
    case = CASES[name]

    response, _, profile_call = sign_in(name, start_flow, mock_http)

    assert_signed_in(response, case)
    for header, value in case.profile_headers.items():
        assert profile_call.calls[0].request.headers[header] == value


@pytest.mark.parametrize("name", sorted(CASES))
def test_preset_token_request_authentication(name, start_flow, mock_http):
    _, token_call, _ = sign_in(name, start_flow, mock_http)

    request = token_call.calls[0].request
    form = parse_qs(request.body)
    if get_preset(name)["token_auth_method"] == "client_secret_basic":
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        assert request.headers["Authorization"] == f"Basic {expected}"
        assert "client_secret" not in form
    else:
        assert form["client_secret"] == [CLIENT_SECRET]
        assert "Authorization" not in request.headers


@pytest.mark.parametrize("name", sorted(CASES))
def test_preset_pkce_matches_data(name, start_flow, mock_http):
    provider, _ = set_preset(name)

    query = parse_qs(urlsplit(start_flow(provider).authorize_response["authorization_url"]).query)

    assert ("code_challenge" in query) is get_preset(name)["pkce"]
    assert query["client_id"] == [CLIENT_ID]
    assert query["scope"] == [" ".join(get_preset(name)["scope"])]


def test_discord_without_global_name_uses_username(start_flow, mock_http):
    case = PresetCase(
        token=CASES["discord"].token, profile={**CASES["discord"].profile, "global_name": None},
        identifier="80351110224678912", first_name="nelly", last_name="", email="nelly@discord.com",
    )
    provider, _ = set_preset("discord")
    flow = start_flow(provider)
    mock_http.add(responses.POST, provider.access_token_url, json=case.token)
    mock_http.add(responses.GET, provider.profile_url, json=case.profile)

    assert_signed_in(flow.callback(code="code-1"), case)


def test_discord_unverified_email_dropped(start_flow, mock_http):
    provider, _ = set_preset("discord")
    flow = start_flow(provider)
    mock_http.add(responses.POST, provider.access_token_url, json=CASES["discord"].token)
    mock_http.add(responses.GET, provider.profile_url, json={**CASES["discord"].profile, "verified": False})

    assert flow.callback(code="code-1").json()["user"]["email"] == ""


@pytest.mark.skipif(OAUTH1_CLIENT_MISSING, reason="allaccess_api.clients.oauth1 (the OAuth 1.0a client) is missing")
def test_twitter_preset_sign_in(start_flow, mock_http):
    provider, _ = set_preset("twitter")
    mock_http.add(responses.POST, provider.request_token_url,
                  body="oauth_token=req-token&oauth_token_secret=req-secret&oauth_callback_confirmed=true",
                  content_type="application/x-www-form-urlencoded")
    mock_http.add(responses.POST, provider.access_token_url,
                  body="oauth_token=6253282-acc&oauth_token_secret=acc-secret&user_id=6253282"
                       "&screen_name=TwitterAPI",
                  content_type="application/x-www-form-urlencoded")
    mock_http.add(responses.GET, provider.profile_url,
                  json={"id": 6253282, "id_str": "6253282", "name": "Twitter API", "screen_name": "TwitterAPI",
                        "email": "api@example.com"})
    flow = start_flow(provider)

    response = flow.callback(oauth_token="req-token", oauth_verifier="verifier-1")

    assert_signed_in(response, PresetCase(token={}, profile={}, identifier="6253282", first_name="Twitter",
                                          last_name="API", email="", username="TwitterAPI"))


# The data file


def test_every_preset_has_a_sign_in_case():
    assert set(load_presets()) - {"twitter"} == set(CASES)


@pytest.mark.parametrize("name", sorted(load_presets()))
def test_preset_data_is_valid_provider(name):
    provider = Provider(name=name, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, **get_preset(name))

    provider.full_clean()

    assert preset_docs_url(name).startswith("https://")


@pytest.mark.parametrize("name", sorted(load_presets()))
def test_preset_oidc_validation_is_complete_or_absent(name):
    preset = get_preset(name)

    if preset.get("jwks_uri"):
        assert preset["protocol"] == Protocol.OIDC
        assert preset["issuer"].startswith("https://")
        assert preset["id_token_algorithms"]


def test_set_preset_reports_docs_url():
    _, output = set_preset("discord")

    assert output.splitlines() == [
        "Created provider 'discord' (oauth2), enabled.",
        "Preset 'discord': https://discord.com/developers/docs/topics/oauth2",
        "Profile fields: full_name=global_name,username; email_verified=verified",
    ]


def test_explicit_option_overrides_preset():
    call_command("providers", "set", "github", "--preset", "github", "--scope", "read:user",
                 "--profile-url", "https://ghe.example.test/api/v3/user", stdout=io.StringIO())

    provider = Provider.objects.get(name="github")
    assert provider.scope == ["read:user"]
    assert provider.profile_url == "https://ghe.example.test/api/v3/user"
    assert provider.authorization_url == "https://github.com/login/oauth/authorize"


def test_switching_preset_clears_oidc_fields():
    set_preset("google")

    call_command("providers", "set", "google", "--preset", "github", stdout=io.StringIO())

    provider = Provider.objects.get(name="google")
    assert (provider.issuer, provider.jwks_uri, provider.id_token_algorithms) == ("", "", [])
    assert provider.protocol == Protocol.OAUTH2


# The admin


def test_admin_shows_profile_fields(admin_client):
    provider, _ = set_preset("discord")

    page = admin_client.get(change_url(provider)).content.decode()

    assert 'name="profile_fields"' in page
    assert "global_name" in page


def test_admin_saves_profile_fields(admin_client):
    provider, _ = set_preset("x")
    mapping = {"full_name": "data.name", "username": ["data.username", "data.id"]}

    response = admin_client.post(change_url(provider), provider_form_data(
        provider, profile_fields=json.dumps(mapping), protocol="oauth2"))

    assert response.status_code == 302
    assert Provider.objects.get(pk=provider.pk).profile_fields == mapping


@pytest.mark.parametrize("mapping", [{"nickname": "data.name"}, {"full_name": 3}, {"full_name": []}, ["name"]])
def test_admin_rejects_invalid_profile_fields(admin_client, mapping):
    provider, _ = set_preset("x")

    response = admin_client.post(change_url(provider), provider_form_data(
        provider, profile_fields=json.dumps(mapping)))

    assert response.status_code == 200
    assert "profile_fields" in response.context["adminform"].form.errors
    assert Provider.objects.get(pk=provider.pk).profile_fields == get_preset("x")["profile_fields"]


# providers set --profile-field


def test_profile_field_option_stored():
    call_command("providers", "set", "x", "--preset", "x", "--profile-field", "full_name=data.name,data.username",
                 "--profile-field", "email=data.confirmed_email", stdout=io.StringIO())

    assert Provider.objects.get(name="x").profile_fields == {"full_name": ["data.name", "data.username"],
                                                             "email": "data.confirmed_email"}


@pytest.mark.parametrize("text", ["nickname=data.name", "full_name", "full_name=", "=data.name"])
def test_profile_field_option_rejects_malformed(text):
    with pytest.raises(CommandError, match="--profile-field"):
        call_command("providers", "set", "x", "--preset", "x", "--profile-field", text, stdout=io.StringIO())

    assert not Provider.objects.exists()
