"""Tests of the public surface: the committed OpenAPI document, the error codes and the docs pages."""

import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.utils.functional import Promise
from drf_spectacular.generators import EndpointEnumerator

from allaccess_api.exceptions import all_api_errors

SCHEMA_FILE = Path(settings.BASE_DIR) / "openapi.yaml"

# The endpoint table of the contract. Path parameters are compared by position
# only, so the view may name them as it likes. schema/, docs/ and redoc/ are
# left out: SERVE_INCLUDE_SCHEMA is off, so they are served but not described.
CONTRACT_PATHS = [
    ("/api/v1/providers/", {"get"}),
    ("/api/v1/providers/{name}/", {"get"}),
    ("/api/v1/providers/{name}/authorize/", {"post"}),
    ("/api/v1/providers/{name}/callback/", {"post"}),
    ("/api/v1/accounts/", {"get"}),
    ("/api/v1/accounts/{id}/", {"get", "delete"}),
    ("/api/v1/accounts/{id}/proxy/{path}", {"get", "post", "put", "patch", "delete"}),
    ("/api/v1/auth/refresh/", {"post"}),
    ("/api/v1/auth/logout/", {"post"}),
    ("/api/v1/auth/me/", {"get"}),
]

# The error table of the contract: code and status.
CONTRACT_ERRORS = {
    "provider_not_found": 404,
    "redirect_uri_not_allowed": 400,
    "invalid_code_challenge": 400,
    "invalid_state": 400,
    "state_expired": 400,
    "binding_mismatch": 400,
    "access_denied": 400,
    "provider_error": 400,
    "token_exchange_failed": 400,
    "provider_unavailable": 502,
    "provider_timeout": 504,
    "identifier_missing": 502,
    "account_in_use": 409,
    "signup_closed": 403,
    "inactive_user": 403,
    "last_login_method": 409,
    "reauthorization_required": 409,
    "path_not_allowed": 400,
}
# Codes the product adds beside the contract's, each listed in the README's error table.
PRODUCT_ERRORS = {
    "request_too_large": 413,
    "invalid_id_token": 400,
    "issuer_mismatch": 400,
    "reauthentication_required": 403,
}

ROOT = Path(__file__).resolve().parent.parent
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
PATH_PARAMETER = re.compile(r"\{[^}]*\}")

ERROR_CLASSES = all_api_errors()


def generate_schema():
    """Return the OpenAPI document that ``manage.py spectacular`` writes now, parsed."""
    output = io.StringIO()
    call_command("spectacular", stdout=output, stderr=io.StringIO())
    return yaml.safe_load(output.getvalue())


@pytest.fixture(scope="module")
def schema():
    return generate_schema()


def normalize_path(path):
    return PATH_PARAMETER.sub("{}", path)


def schema_operations(schema):
    """Return {normalized path: set of lower-case methods} of the document."""
    return {normalize_path(path): set(operations) for path, operations in schema["paths"].items()}


def resolve(schema, node):
    """Follow ``$ref`` links inside the document until a node without one is reached."""
    while isinstance(node, dict) and "$ref" in node:
        name = node["$ref"].removeprefix("#/components/schemas/")
        node = schema["components"]["schemas"][name]
    return node


def documented_codes(schema, response):
    """Return every value of an error ``code`` enum reachable from one response object."""
    codes = set()
    seen = set()

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                if node["$ref"] in seen:
                    return
                seen.add(node["$ref"])
                walk(resolve(schema, node))
                return
            code = node.get("properties", {}).get("code")
            if code is not None:
                codes.update(resolve(schema, code).get("enum", []))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for media in response.get("content", {}).values():
        walk(media.get("schema"))
    return codes


class AssetCollector(HTMLParser):
    """Collects the URLs a page loads: script and image ``src``, link ``href``."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "img", "iframe") and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])


def page_assets(html):
    collector = AssetCollector()
    collector.feed(html)
    return collector.urls


# The committed document


def test_openapi_yaml_matches_generated_schema(schema):
    committed = yaml.safe_load(SCHEMA_FILE.read_text(encoding="utf-8"))

    assert committed == schema, "openapi.yaml is out of date with the code: run `make schema` and commit the result."


@pytest.mark.parametrize("path, methods", CONTRACT_PATHS, ids=[path for path, _ in CONTRACT_PATHS])
def test_contract_path_in_schema(schema, path, methods):
    operations = schema_operations(schema)

    assert normalize_path(path) in operations
    assert operations[normalize_path(path)] == methods


def test_schema_has_no_paths_outside_contract(schema):
    contract = {normalize_path(path) for path, _ in CONTRACT_PATHS}

    assert set(schema_operations(schema)) - contract == set()


def test_view_api_errors_in_operation_responses(schema):
    checked = 0
    missing = []
    for path, _, method, callback in EndpointEnumerator().get_api_endpoints():
        for error in getattr(callback.cls, "api_errors", ()):
            operation = schema["paths"][path][method.lower()]
            response = operation["responses"].get(str(error.status_code), {})
            checked += 1
            if error.default_code not in documented_codes(schema, response):
                missing.append(f"{method} {path} {error.status_code} {error.default_code}")

    assert checked > 0
    assert missing == []


# Error classes


@pytest.mark.parametrize("error", ERROR_CLASSES, ids=lambda error: error.__name__)
def test_error_message_translated(error):
    assert isinstance(error.default_detail, Promise)
    assert str(error.default_detail).strip() != ""


@pytest.mark.parametrize("error", ERROR_CLASSES, ids=lambda error: error.__name__)
def test_error_code_snake_case(error):
    assert SNAKE_CASE.match(error.default_code)


@pytest.mark.parametrize("error", ERROR_CLASSES, ids=lambda error: error.__name__)
def test_error_status_4xx_or_5xx(error):
    assert 400 <= error.status_code <= 599


def test_error_codes_unique():
    codes = [error.default_code for error in ERROR_CLASSES]

    assert len(codes) == len(set(codes))


@pytest.mark.parametrize("code, status", CONTRACT_ERRORS.items())
def test_contract_error_has_class(code, status):
    statuses = {error.default_code: error.status_code for error in ERROR_CLASSES}

    assert code in statuses
    assert statuses[code] == status


def test_error_classes_all_in_contract():
    codes = {error.default_code for error in ERROR_CLASSES}

    assert codes - set(CONTRACT_ERRORS) - set(PRODUCT_ERRORS) == set()


@pytest.mark.parametrize("code, status", PRODUCT_ERRORS.items())
def test_product_error_is_in_readme(code, status):
    readme = (ROOT / "README.md").read_text()

    assert f"| `{code}` | {status} |" in readme


# Schema and docs pages


def test_schema_endpoint_returns_document(client):
    response = client.get("/api/v1/schema/")

    assert response.status_code == 200
    assert yaml.safe_load(response.content)["openapi"].startswith("3.")


def test_schema_endpoint_serves_json(client):
    response = client.get("/api/v1/schema/", {"format": "json"})

    assert response.status_code == 200
    assert response.json()["info"]["title"] == "allaccess-api"


@pytest.mark.parametrize("url", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_docs_page_renders(client, url):
    response = client.get(url)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("url", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_docs_page_loads_only_local_assets(client, url):
    html = client.get(url).content.decode()

    external = [asset for asset in page_assets(html) if asset.startswith(("http://", "https://", "//"))]

    assert page_assets(html) != []
    assert external == []


@pytest.mark.parametrize("url", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_docs_page_assets_exist(client, url):
    html = client.get(url).content.decode()
    local = [asset for asset in page_assets(html) if asset.startswith(settings.STATIC_URL)]

    missing = [asset for asset in local if finders.find(asset.removeprefix(settings.STATIC_URL)) is None]

    assert local != []
    assert missing == []
