"""Every operation in openapi.yaml is documented for client authors: texts, examples, errors, security."""

import pytest
import yaml
from django.conf import settings

SCHEMA = yaml.safe_load((settings.BASE_DIR / "openapi.yaml").read_text(encoding="utf-8"))
OPERATIONS = [
    (f"{method.upper()} {path}", operation)
    for path, methods in SCHEMA["paths"].items()
    for method, operation in methods.items()
]
WITH_REQUEST_BODY = [(name, operation) for name, operation in OPERATIONS if "requestBody" in operation]
WITH_SUCCESS_BODY = [
    (name, operation) for name, operation in OPERATIONS
    if any(status.startswith("2") and "content" in response for status, response in operation["responses"].items())
]
# Operations that a caller may use without a JWT; every other one requires the bearer scheme.
PUBLIC = {
    "GET /api/v1/providers/",
    "GET /api/v1/providers/{name}/",
    "POST /api/v1/providers/{name}/callback/",
    "POST /api/v1/auth/refresh/",
    "POST /api/v1/auth/logout/",
}
# authorize works without a JWT, and with one it links instead of signing in.
OPTIONAL_JWT = {"POST /api/v1/providers/{name}/authorize/"}


def operation_ids(operations):
    return [name for name, _ in operations]


def media_examples(content):
    return [name for media in content.values() for name in media.get("examples", {})]


@pytest.mark.parametrize("name, operation", OPERATIONS, ids=operation_ids(OPERATIONS))
def test_operation_has_summary_and_description(name, operation):
    assert operation.get("summary", "").strip() != ""
    assert operation.get("description", "").strip() != ""


@pytest.mark.parametrize("name, operation", WITH_REQUEST_BODY, ids=operation_ids(WITH_REQUEST_BODY))
def test_request_body_has_example(name, operation):
    assert media_examples(operation["requestBody"]["content"]) != []


@pytest.mark.parametrize("name, operation", WITH_SUCCESS_BODY, ids=operation_ids(WITH_SUCCESS_BODY))
def test_success_response_has_example(name, operation):
    bodies = {status: response["content"] for status, response in operation["responses"].items()
              if status.startswith("2") and "content" in response}

    assert {status: media_examples(content) != [] for status, content in bodies.items()} == {
        status: True for status in bodies}


@pytest.mark.parametrize("name, operation", OPERATIONS, ids=operation_ids(OPERATIONS))
def test_error_responses_have_examples(name, operation):
    errors = {status: response for status, response in operation["responses"].items() if status[0] in "45"}

    assert errors != {}
    assert [status for status, response in errors.items() if not media_examples(response.get("content", {}))] == []


@pytest.mark.parametrize("name, operation", OPERATIONS, ids=operation_ids(OPERATIONS))
def test_security_matches_access(name, operation):
    if name in PUBLIC:
        expected = [{}]
    elif name in OPTIONAL_JWT:
        expected = [{"jwtAuth": []}, {}]
    else:
        expected = [{"jwtAuth": []}]

    assert operation["security"] == expected


def test_bearer_security_scheme():
    assert SCHEMA["components"]["securitySchemes"] == {
        "jwtAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
