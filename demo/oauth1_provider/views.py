"""Endpoints of the local OAuth 1.0a provider: the three flow steps and two protected resources."""

import logging

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from oauthlib.common import add_params_to_uri
from oauthlib.oauth1 import (
    AccessTokenEndpoint,
    AuthorizationEndpoint,
    RequestTokenEndpoint,
    ResourceEndpoint,
)
from oauthlib.oauth1.rfc5849.errors import OAuth1Error

from demo.oauth1_provider.models import RequestToken
from demo.oauth1_provider.validator import DemoRequestValidator

logger = logging.getLogger(__name__)


def _oauthlib_arguments(request: HttpRequest) -> dict:
    # The signature covers the absolute URI, so it is rebuilt from the Host header the client sent.
    return {
        "uri": request.build_absolute_uri(),
        "http_method": request.method,
        "body": request.body.decode("utf-8", errors="replace"),
        "headers": dict(request.headers),
    }


def _response(headers: dict, body: str | None, status: int) -> HttpResponse:
    response = HttpResponse(body or "", status=status)
    for name, value in headers.items():
        response[name] = value
    return response


@csrf_exempt
@require_POST
def request_token(request: HttpRequest) -> HttpResponse:
    """Issue temporary credentials to a signed request (RFC 5849 §2.1)."""
    endpoint = RequestTokenEndpoint(DemoRequestValidator())
    headers, body, status = endpoint.create_request_token_response(**_oauthlib_arguments(request))
    logger.info("Request token request status=%s", status)
    return _response(headers, body, status)


@csrf_exempt
@require_POST
def access_token(request: HttpRequest) -> HttpResponse:
    """Exchange an authorized request token and its verifier for token credentials (RFC 5849 §2.3)."""
    endpoint = AccessTokenEndpoint(DemoRequestValidator())
    headers, body, status = endpoint.create_access_token_response(**_oauthlib_arguments(request))
    logger.info("Access token request status=%s", status)
    return _response(headers, body, status)


@login_required
@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest) -> HttpResponse:
    """Show the allow/deny page for a request token, then redirect to the client's callback (RFC 5849 §2.2).

    Allow redirects with ``oauth_token`` and ``oauth_verifier``. Deny closes the
    request token and redirects with ``denied=<request token>``, as Twitter does.
    """
    token = (request.POST if request.method == "POST" else request.GET).get("oauth_token", "")
    validator = DemoRequestValidator(user=request.user)
    if not validator.verify_request_token(token, None):
        return render(request, "oauth1_provider/error.html",
                      {"message": "This request token is unknown, expired or already used."}, status=400)

    if request.method == "GET":
        client = RequestToken.objects.select_related("client").get(token=token).client
        return render(request, "oauth1_provider/authorize.html", {"client": client, "oauth_token": token})

    if "allow" not in request.POST:
        callback = validator.close_request_token(token)
        logger.info("User %s denied a request token", request.user.pk)
        return _redirect_to_callback(add_params_to_uri(callback, [("denied", token)]))

    endpoint = AuthorizationEndpoint(validator)
    uri = add_params_to_uri(request.build_absolute_uri(reverse("authorize")), [("oauth_token", token)])
    try:
        headers, _body, _status = endpoint.create_authorization_response(uri, http_method="GET")
    except OAuth1Error as error:
        return render(request, "oauth1_provider/error.html", {"message": error.description}, status=400)
    logger.info("User %s authorized a request token", request.user.pk)
    return _redirect_to_callback(headers["Location"])


def _redirect_to_callback(uri: str) -> HttpResponse:
    # Not HttpResponseRedirect, which rejects the custom schemes of mobile apps. The
    # callback was checked against the client's registered URIs when the request token was issued.
    response = HttpResponse(status=302)
    response["Location"] = uri
    return response


def _resource_owner(request: HttpRequest):
    """Return the user of a validly signed resource request, or None (RFC 5849 §3.2)."""
    endpoint = ResourceEndpoint(DemoRequestValidator())
    valid, oauth_request = endpoint.validate_protected_resource_request(**_oauthlib_arguments(request), realms=[])
    if not valid:
        return None
    return oauth_request.user


def _unauthorized() -> JsonResponse:
    response = JsonResponse({"errors": [{"code": 89, "message": "Invalid or expired token."}]}, status=401)
    response["WWW-Authenticate"] = 'OAuth realm="demo"'
    return response


def verify_credentials(request: HttpRequest) -> JsonResponse:
    """Return the signed-in user's profile, shaped like Twitter's account/verify_credentials.json."""
    user = _resource_owner(request)
    if user is None:
        return _unauthorized()
    return JsonResponse({
        "id": user.pk,
        "id_str": str(user.pk),
        "screen_name": user.get_username(),
        "name": user.get_full_name(),
        "email": user.email,
    })


@csrf_exempt
@require_http_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
def echo(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Return a validly signed request as JSON: method, path, query, headers, body and user."""
    user = _resource_owner(request)
    if user is None:
        return _unauthorized()
    return JsonResponse({
        "method": request.method,
        "path": request.path,
        "query": {key: request.GET.getlist(key) for key in request.GET},
        "headers": dict(request.headers),
        "body": request.body.decode("utf-8", errors="replace"),
        "user": user.get_username(),
    })
