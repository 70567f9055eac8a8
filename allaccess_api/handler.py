"""Rendering API errors in the drf-standardized-errors envelope."""

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import JsonResponse
from django.utils.translation import gettext
from django.views import defaults
from drf_standardized_errors.handler import ExceptionHandler as StandardizedExceptionHandler
from rest_framework import exceptions as drf_exceptions
from rest_framework_simplejwt.exceptions import DetailDictMixin

from allaccess_api.exceptions import AllAccessAPIError, RequestTooLarge


class ExceptionHandler(StandardizedExceptionHandler):
    """drf-standardized-errors' handler with the product's conversions.

    - simplejwt's errors carry a dict as their detail, which the envelope would
      show as several errors; they become one error with simplejwt's code.
    - A body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is a 413, and Django's other
      request checks (too many fields, ...) give 400 ``bad_request``, not a 500.
    - A 502 or 504 from a misbehaving provider is an expected outcome that the
      flow logs, so it is not reported through Django's ``got_request_exception``
      (which would alert error trackers on every provider outage).
    """

    def convert_known_exceptions(self, exc):
        if isinstance(exc, DetailDictMixin) and isinstance(exc.detail, dict) and "detail" in exc.detail:
            # str() drops the ErrorDetail wrappers, whose own code is simplejwt's generic one.
            code = str(exc.detail.get("code") or "authentication_failed")
            flat = drf_exceptions.AuthenticationFailed(str(exc.detail["detail"]), code=code)
            flat.status_code = exc.status_code
            return flat
        if isinstance(exc, RequestDataTooBig):
            return RequestTooLarge()
        if isinstance(exc, SuspiciousOperation):
            # Too many query or form fields, and Django's other request sanity checks.
            return drf_exceptions.ParseError(str(exc), code="bad_request")
        return super().convert_known_exceptions(exc)

    def report_exception(self, exc, response):
        if isinstance(exc, AllAccessAPIError):
            return
        super().report_exception(exc, response)


def client_error_response(code, detail, status):
    """Return the error envelope for an error raised before DRF, with one entry and no attr."""
    body = {"type": "client_error", "errors": [{"code": code, "detail": detail, "attr": None}]}
    return JsonResponse(body, status=status)


def bad_request(request, exception=None):
    """Return the error envelope for requests Django rejects before any view (a bad Host, say)."""
    if not request.path.startswith("/api/"):
        return defaults.bad_request(request, exception)
    return client_error_response("bad_request", gettext("Bad request."), 400)


def not_found(request, exception=None):
    """Return the error envelope for unrouted paths under /api/ instead of an HTML page."""
    if not request.path.startswith("/api/"):
        return defaults.page_not_found(request, exception)
    return client_error_response("not_found", gettext("Not found."), 404)
