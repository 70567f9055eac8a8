"""Races between simultaneous callbacks, run on PostgreSQL with real connections per thread."""

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from rest_framework.test import APIClient

from allaccess_api.models import AccountAccess
from tests.conftest import Flow, add_profile_response, add_token_response

User = get_user_model()

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: set DATABASE_URL"),
]


def run_at_once(count, target):
    """Run ``target(index)`` in ``count`` threads released together; return their results."""
    barrier = threading.Barrier(count, timeout=30)
    results = [None] * count

    def worker(index):
        try:
            barrier.wait()
            results[index] = target(index)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def test_one_state_used_by_twenty_callbacks_succeeds_once(provider, mock_http):
    token_call = add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider)
    flow = Flow(APIClient(), provider)
    body = {"state": flow.state, "code": "code-1", "code_verifier": flow.verifier}

    def callback(index):
        response = APIClient().post(f"/api/v1/providers/{provider.name}/callback/", body, format="json")
        return response.status_code, response.json()

    results = run_at_once(20, callback)

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [400] * 19
    assert {body["errors"][0]["code"] for status, body in results if status == 400} == {"invalid_state"}
    assert token_call.call_count == 1
    assert AccountAccess.objects.count() == 1


def test_simultaneous_first_sign_ins_one_user(provider, mock_http):
    add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider)
    flows = [Flow(APIClient(), provider) for _ in range(8)]

    def callback(index):
        return flows[index].callback(code=f"code-{index}").json()

    results = run_at_once(8, callback)

    assert {result["user"]["id"] for result in results} == {User.objects.get().pk}
    assert {result["account"]["id"] for result in results} == {AccountAccess.objects.get().pk}
    assert sum(result["account_created"] for result in results) == 1
