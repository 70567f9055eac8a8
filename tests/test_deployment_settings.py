"""Settings that a deployment behind reverse proxies relies on."""

import pytest
from rest_framework.test import APIRequestFactory
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

FORGED_HEADER = "198.51.100.7"


def client_ident(**headers):
    request = APIView().initialize_request(APIRequestFactory().get("/", REMOTE_ADDR="192.0.2.10", **headers))
    return ScopedRateThrottle().get_ident(request)


def test_throttle_ignores_forwarded_for_by_default():
    assert client_ident(HTTP_X_FORWARDED_FOR=FORGED_HEADER) == "192.0.2.10"


@pytest.mark.parametrize("num_proxies, expected", [(1, "203.0.113.5"), (2, FORGED_HEADER)])
def test_throttle_reads_address_of_trusted_proxy(settings, num_proxies, expected):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": num_proxies}

    ident = client_ident(HTTP_X_FORWARDED_FOR=f"{FORGED_HEADER}, 203.0.113.5")

    assert ident == expected
