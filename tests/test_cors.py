"""Cross-origin requests from the SPA origins in CORS_ALLOWED_ORIGINS."""

import pytest

pytestmark = pytest.mark.django_db

SPA_ORIGIN = "https://spa.example"


@pytest.fixture(autouse=True)
def allowed_origin(settings):
    settings.CORS_ALLOWED_ORIGINS = [SPA_ORIGIN]


def preflight(client, origin):
    return client.options(
        "/api/v1/providers/example/authorize/",
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )


def test_preflight_from_allowed_origin_is_allowed(client):
    response = preflight(client, SPA_ORIGIN)

    assert response["Access-Control-Allow-Origin"] == SPA_ORIGIN
    assert "authorization" in response["Access-Control-Allow-Headers"]


def test_preflight_from_other_origin_gets_no_cors_headers(client):
    response = preflight(client, "https://evil.example")

    assert "Access-Control-Allow-Origin" not in response


def test_cors_headers_only_under_api(client):
    response = client.get("/admin/login/", HTTP_ORIGIN=SPA_ORIGIN)

    assert "Access-Control-Allow-Origin" not in response
