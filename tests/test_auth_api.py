"""auth/refresh/, auth/logout/ and auth/me/: our own JWTs after sign-in."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework_simplejwt.tokens import RefreshToken

from tests.conftest import strip_detail

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def user():
    return User.objects.create_user("mona", email="mona@example.org", first_name="Mona", last_name="Lisa")


@pytest.fixture
def refresh(user):
    return str(RefreshToken.for_user(user))


def post(client, path, data):
    return client.post(f"/api/v1/auth/{path}/", data, format="json")


def test_me_returns_current_user(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")

    response = api_client.get("/api/v1/auth/me/")

    assert response.status_code == 200
    assert response.json() == {"id": user.pk, "username": "mona", "email": "mona@example.org",
                               "first_name": "Mona", "last_name": "Lisa"}


def test_me_without_token_is_unauthenticated(api_client):
    response = api_client.get("/api/v1/auth/me/")

    assert response.status_code == 401
    assert strip_detail(response.json()) == {"type": "client_error",
                                             "errors": [{"code": "not_authenticated", "attr": None}]}


def test_me_with_refresh_token_as_bearer_is_rejected(api_client, refresh):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {refresh}")

    response = api_client.get("/api/v1/auth/me/")

    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "token_not_valid"


def test_refresh_rotates_and_blacklists_old_token(api_client, refresh):
    response = post(api_client, "refresh", {"refresh": refresh})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert body["refresh"] != refresh

    reused = post(api_client, "refresh", {"refresh": refresh})
    assert reused.status_code == 401
    assert reused.json()["errors"][0]["code"] == "token_not_valid"
    assert post(api_client, "refresh", {"refresh": body["refresh"]}).status_code == 200


def test_refreshed_access_token_works(api_client, refresh, user):
    access = post(api_client, "refresh", {"refresh": refresh}).json()["access"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")

    assert api_client.get("/api/v1/auth/me/").json()["id"] == user.pk


def test_refresh_for_inactive_user_is_forbidden(api_client, refresh, user):
    user.is_active = False
    user.save()

    response = post(api_client, "refresh", {"refresh": refresh})

    assert response.status_code == 403
    assert strip_detail(response.json()) == {"type": "client_error",
                                             "errors": [{"code": "inactive_user", "attr": None}]}


def test_refresh_for_deleted_user_is_invalid_token(api_client, refresh, user):
    user.delete()

    response = post(api_client, "refresh", {"refresh": refresh})

    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "token_not_valid"


@pytest.mark.parametrize("value", ["garbage", "a.b.c", ""])
def test_refresh_with_bad_token_is_rejected(api_client, value):
    response = post(api_client, "refresh", {"refresh": value})

    assert response.status_code in (400, 401)
    assert response.json()["errors"][0]["code"] in ("token_not_valid", "blank")


def test_refresh_with_access_token_is_rejected(api_client, user):
    access = str(RefreshToken.for_user(user).access_token)

    response = post(api_client, "refresh", {"refresh": access})

    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "token_not_valid"


def test_logout_revokes_refresh_token(api_client, refresh):
    response = post(api_client, "logout", {"refresh": refresh})

    assert response.status_code == 204
    assert response.content == b""
    after = post(api_client, "refresh", {"refresh": refresh})
    assert after.status_code == 401
    assert after.json()["errors"][0]["code"] == "token_not_valid"


def test_logout_twice_is_invalid_token(api_client, refresh):
    post(api_client, "logout", {"refresh": refresh})

    response = post(api_client, "logout", {"refresh": refresh})

    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "token_not_valid"


def test_logout_without_refresh_is_validation_error(api_client):
    response = post(api_client, "logout", {})

    assert response.status_code == 400
    assert strip_detail(response.json()) == {"type": "validation_error",
                                             "errors": [{"code": "required", "attr": "refresh"}]}


def test_outstanding_refresh_tokens_are_stored_hashed(api_client, refresh):
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    rotated = post(api_client, "refresh", {"refresh": refresh}).json()["refresh"]

    stored = list(OutstandingToken.objects.values_list("token", flat=True))
    assert len(stored) == 2
    assert all(token.startswith("sha256:") for token in stored)
    assert refresh not in stored
    assert rotated not in stored
    assert post(api_client, "logout", {"refresh": rotated}).status_code == 204
    assert post(api_client, "refresh", {"refresh": rotated}).status_code == 401
