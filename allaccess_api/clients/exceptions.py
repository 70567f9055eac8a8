"""Protocol errors raised by the provider clients.

They describe what went wrong with the provider; ``flows`` maps them to API
errors with ``raise ... from``.
"""


class ClientError(Exception):
    """Base class of provider client errors."""


class ProviderRequestError(ClientError):
    """The provider could not be reached, returned 5xx, or returned an unusable response."""


class ProviderTimeoutError(ProviderRequestError):
    """The provider did not respond within the configured timeout."""


class InsecureURLError(ProviderRequestError):
    """A provider URL is not https (and not an allowed loopback http URL)."""


class TokenExchangeError(ClientError):
    """The token endpoint rejected the request with an OAuth error (RFC 6749 §5.2)."""

    def __init__(self, error, description=""):
        super().__init__(error)
        self.error = error
        self.description = description
