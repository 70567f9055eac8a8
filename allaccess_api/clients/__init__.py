"""Provider clients, one per protocol, behind ``get_client``."""

from allaccess_api.clients.base import AuthorizationRequest, BaseOAuthClient, ProviderToken
from allaccess_api.clients.oauth1 import OAuth1Client
from allaccess_api.clients.oauth2 import OAuth2Client
from allaccess_api.models import Protocol


def get_client(provider):
    """Return the client for ``provider``'s protocol."""
    if provider.protocol in (Protocol.OAUTH2, Protocol.OIDC):
        return OAuth2Client(provider)
    if provider.protocol == Protocol.OAUTH1:
        return OAuth1Client(provider)
    raise NotImplementedError(f"Protocol {provider.protocol!r} has no client yet")


__all__ = ["AuthorizationRequest", "BaseOAuthClient", "OAuth1Client", "OAuth2Client", "ProviderToken", "get_client"]
