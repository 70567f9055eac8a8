"""Deploy checks for redirect URIs and development switches."""

import pytest
from django.core.checks import run_checks


def check_ids(settings, **allaccess):
    settings.ALLACCESS_API = {**settings.ALLACCESS_API, **allaccess}
    return [message.id for message in run_checks(include_deployment_checks=True)
            if message.id.startswith("allaccess_api.")]


@pytest.mark.parametrize("uri", ["javascript:alert(1)", "data:text/html,x", "http://evil.example/cb",
                                 "https://spa.example/*", "https://spa.example/cb#frag", "no-scheme"])
def test_unsafe_redirect_uri_warns(settings, uri):
    assert "allaccess_api.W003" in check_ids(settings, REDIRECT_URIS=[uri])


@pytest.mark.parametrize("uri", ["https://spa.example/callback", "com.example.app:/oauth/callback",
                                 "http://127.0.0.1:8000/callback", "http://localhost/cb"])
def test_safe_redirect_uri_passes(settings, uri):
    assert "allaccess_api.W003" not in check_ids(settings, REDIRECT_URIS=[uri])


def test_insecure_loopback_warns_at_deploy(settings):
    assert "allaccess_api.W004" in check_ids(settings, INSECURE_LOOPBACK=True)
    assert "allaccess_api.W004" not in check_ids(settings, INSECURE_LOOPBACK=False)
