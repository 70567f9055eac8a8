"""Request and response examples of each operation, for openapi.yaml. Every value is a placeholder."""

from drf_spectacular.utils import OpenApiExample

ACCESS_JWT = "eyJhbGciOiJIUzI1NiJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIn0.c2lnbmF0dXJl"
REFRESH_JWT = "eyJhbGciOiJIUzI1NiJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.c2lnbmF0dXJl"
STATE = "Yl3v0k1oQjJ2sQe8m6rN4c5dW7xZpA9bTfHgUiKoLqE"
CODE_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CODE_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

GITHUB = {
    "name": "github",
    "display_name": "GitHub",
    "protocol": "oauth2",
    "scope": ["read:user", "user:email"],
    "client_id": "Iv1.0123456789abcdef",
}
X = {"name": "x", "display_name": "X", "protocol": "oauth1", "scope": []}
USER = {"id": 1, "username": "octocat", "email": "octocat@example.org", "first_name": "Mona", "last_name": "Octocat"}
ACCOUNT = {
    "id": 7,
    "provider": "github",
    "identifier": "583231",
    "created": "2026-01-01T12:00:00Z",
    "modified": "2026-01-01T12:00:00Z",
    "scope": ["read:user", "user:email"],
    "expires_at": None,
    "status": "active",
}


def request(name, value, summary="", media_type=None):
    return OpenApiExample(name, value=value, summary=summary or None, request_only=True, media_type=media_type)


def response(name, value, status_code, summary="", media_type=None):
    return OpenApiExample(name, value=value, summary=summary or None, response_only=True,
                          status_codes=[str(status_code)], media_type=media_type)


def validation_error(code, attr, detail, summary):
    body = {"type": "validation_error", "errors": [{"code": code, "detail": detail, "attr": attr}]}
    return response(f"{attr}-{code}", body, 400, summary)


MISSING_REFRESH = validation_error("required", "refresh", "This field is required.", "No refresh JWT in the body")

PROVIDER_LIST = [
    response("providers", [GITHUB, X], 200, "An OAuth 2.0 and an OAuth 1.0a provider (no client_id)"),
]

PROVIDER_DETAIL = [response("provider", GITHUB, 200)]

AUTHORIZE = [
    request("sign-in", {"redirect_uri": "https://spa.example/callback", "code_challenge": CODE_CHALLENGE,
                        "code_challenge_method": "S256"}, "Sign in from an SPA"),
    request("mobile", {"redirect_uri": "com.example.app:/oauth/callback", "code_challenge": CODE_CHALLENGE,
                       "scope": ["read:user"]}, "Sign in from a mobile app with a narrower scope"),
    response("started", {
        "authorization_url": "https://github.com/login/oauth/authorize?response_type=code"
                             "&client_id=Iv1.0123456789abcdef&redirect_uri=https%3A%2F%2Fspa.example%2Fcallback"
                             f"&scope=read%3Auser+user%3Aemail&state={STATE}"
                             "&code_challenge=K2-ltc83acc4h0c9w6ESC_rEMTJ3bwp0u8nC5VIhuJ8&code_challenge_method=S256",
        "state": STATE,
        "expires_at": "2026-01-01T12:10:00Z",
    }, 201),
    validation_error("redirect_uri_not_allowed", "redirect_uri",
                     "redirect_uri is not one of the allowed redirect URIs.",
                     "A redirect URI that is not allowed"),
]

CALLBACK = [
    request("code", {"state": STATE, "code": "SplxlOBeZQQYbYS6WxSbIA", "code_verifier": CODE_VERIFIER},
            "OAuth 2.0 or OpenID Connect redirect with a code"),
    request("oauth1", {"state": STATE, "oauth_token": "NPcudxy0yU5T3tBzho7iCotZ3cnetKwcTIRlX0iwRl0",
                       "oauth_verifier": "uw7NjWHT6OJ1MpJOXsHfNxoAhPKpgI8BlYDhxEjIBY", "code_verifier": CODE_VERIFIER},
            "OAuth 1.0a redirect with a verifier"),
    request("denied", {"state": STATE, "error": "access_denied", "error_description": "The user cancelled.",
                       "code_verifier": CODE_VERIFIER}, "The provider redirected with an error"),
    response("signed-in", {"access": ACCESS_JWT, "refresh": REFRESH_JWT, "user": USER, "account": ACCOUNT,
                           "user_created": True, "account_created": True}, 200),
    validation_error("required", "code", "This field is required.", "Neither a code, a verifier nor an error"),
]

REFRESH = [
    request("refresh", {"refresh": REFRESH_JWT}),
    response("refreshed", {"access": ACCESS_JWT, "refresh": REFRESH_JWT}, 200,
             "A new pair; the refresh JWT that was sent no longer works"),
    MISSING_REFRESH,
]

LOGOUT = [request("logout", {"refresh": REFRESH_JWT}), MISSING_REFRESH]

ME = [response("user", USER, 200)]

ACCOUNT_LIST = [response("accounts", [ACCOUNT, {**ACCOUNT, "id": 8, "provider": "google",
                                                "identifier": "108204268033311374519", "scope": ["openid", "email"],
                                                "expires_at": "2026-01-01T13:00:00Z"}], 200)]

ACCOUNT_DETAIL = [response("account", ACCOUNT, 200)]

# The proxy passes any media type through, so its examples are listed under */*.
PROXY = [
    response("provider-response", {"login": "octocat", "id": 583231, "name": "Mona Octocat"}, 200,
             "GET accounts/7/proxy/user: GitHub's response to GET https://api.github.com/user", media_type="*/*"),
]

PROXY_WITH_BODY = [
    request("body", {"title": "Found a bug", "body": "Steps to reproduce: ..."},
            "Sent on to the provider unchanged, with its Content-Type", media_type="*/*"),
    *PROXY,
]
