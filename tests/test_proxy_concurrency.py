"""Simultaneous proxy calls with one expired token, run on PostgreSQL with a connection per thread."""

import threading
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import responses
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from allaccess_api.models import AccountAccess, AccountStatus
from allaccess_api.tokens import issue_tokens
from tests.test_concurrency import run_at_once

User = get_user_model()
API = "https://api.example.test"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: set DATABASE_URL"),
]


class RotatingProvider:
    """A token endpoint that rotates refresh tokens and rejects a used one, and an API that checks tokens."""

    def __init__(self):
        self.lock = threading.Lock()
        self.generation = 1
        self.refresh_requests = 0

    def token(self, request):
        form = {key: values[0] for key, values in parse_qs(request.body).items()}
        with self.lock:
            self.refresh_requests += 1
            if form.get("refresh_token") != f"ref_{self.generation}":
                return 400, {}, '{"error": "invalid_grant"}'
            self.generation += 1
            generation = self.generation
        body = (f'{{"access_token": "tok_{generation}", "refresh_token": "ref_{generation}", '
                f'"token_type": "Bearer", "expires_in": 3600}}')
        return 200, {"Content-Type": "application/json"}, body

    def api(self, request):
        with self.lock:
            valid = request.headers.get("Authorization") == f"Bearer tok_{self.generation}"
        return (200, {}, '{"ok": true}') if valid else (401, {}, "")


def test_ten_calls_with_expired_token_refresh_once(provider, mock_http):
    fake = RotatingProvider()
    mock_http.add_callback(responses.POST, provider.access_token_url, callback=fake.token)
    mock_http.add_callback(responses.GET, f"{API}/user", callback=fake.api)
    user = User.objects.create_user("alice")
    account = AccountAccess.objects.create(
        provider=provider, user=user, identifier="1", access_token="tok_1", refresh_token="ref_1",
        expires_at=timezone.now() - timedelta(minutes=1),
    )
    jwt = issue_tokens(user).access

    def call(index):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {jwt}")
        response = client.get(f"/api/v1/accounts/{account.pk}/proxy/user")
        content = b"".join(response.streaming_content) if response.streaming else response.content
        return response.status_code, content

    results = run_at_once(10, call)

    assert [status for status, _ in results] == [200] * 10, results
    assert fake.refresh_requests == 1
    account.refresh_from_db()
    assert (account.access_token, account.refresh_token, account.status) == ("tok_2", "ref_2", AccountStatus.ACTIVE)
