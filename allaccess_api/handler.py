"""Rendering API errors in the drf-standardized-errors envelope."""

from drf_standardized_errors.handler import ExceptionHandler as StandardizedExceptionHandler

from allaccess_api.exceptions import AllAccessAPIError


class ExceptionHandler(StandardizedExceptionHandler):
    """drf-standardized-errors' handler that does not report provider failures as server errors.

    A 502 or 504 from a misbehaving provider is an expected outcome that the flow
    logs. Sending Django's ``got_request_exception`` for it would alert error
    trackers on every provider outage.
    """

    def report_exception(self, exc, response):
        if isinstance(exc, AllAccessAPIError):
            return
        super().report_exception(exc, response)
