"""oauthlib ``RequestValidator`` backed by the provider's database."""

import hmac
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

from django.db import IntegrityError, transaction
from django.utils import timezone
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, RequestValidator

from demo.oauth1_provider.models import AccessToken, Client, Nonce, RequestToken

REQUEST_TOKEN_LIFETIME = timedelta(minutes=10)

# Used when a request names an unknown client or token, so that the signature check
# still runs and takes about as long as for a known one (oauthlib's timing defence).
DUMMY_CLIENT_KEY = "dummyclientkey0000000000"
DUMMY_TOKEN = "dummytoken00000000000000"
DUMMY_SECRET = "dummysecret0000000000000"


def callback_without_query(uri: str) -> str:
    parts = urlsplit(uri)
    return urlunsplit(parts._replace(query="", fragment=""))


class DemoRequestValidator(RequestValidator):
    """Checks clients, tokens, nonces and callbacks against the database.

    ``user`` is the signed-in user of the authorization page, recorded with the
    verifier. Two of oauthlib's defaults are changed:

    - ``enforce_ssl`` is off because the server only listens on 127.0.0.1 over http.
    - Only HMAC-SHA1 is accepted, so a client that signs with PLAINTEXT is rejected.

    oauthlib's length limits stay: keys, tokens, verifiers and nonces have 20 to 30
    ASCII letters and digits. oauthlib generates 30-character tokens and verifiers.
    """

    enforce_ssl = False
    allowed_signature_methods = (SIGNATURE_HMAC_SHA1,)
    dummy_client = DUMMY_CLIENT_KEY
    dummy_request_token = DUMMY_TOKEN
    dummy_access_token = DUMMY_TOKEN

    def __init__(self, user=None):
        super().__init__()
        self.user = user

    # Lookups.

    def _open_request_token(self, token, client_key=None):
        tokens = RequestToken.objects.select_related("client").filter(
            token=token, closed_at__isnull=True, created__gt=timezone.now() - REQUEST_TOKEN_LIFETIME
        )
        if client_key is not None:
            tokens = tokens.filter(client__client_key=client_key)
        return tokens.first()

    def get_client_secret(self, client_key, request):
        client = Client.objects.filter(client_key=client_key).first()
        return client.client_secret if client else DUMMY_SECRET

    def get_request_token_secret(self, client_key, token, request):
        request_token = RequestToken.objects.filter(token=token, client__client_key=client_key).first()
        return request_token.secret if request_token else DUMMY_SECRET

    def get_access_token_secret(self, client_key, token, request):
        access_token = AccessToken.objects.filter(token=token, client__client_key=client_key).first()
        return access_token.secret if access_token else DUMMY_SECRET

    def get_default_realms(self, client_key, request):
        return []

    def get_realms(self, token, request):
        request_token = RequestToken.objects.filter(token=token).first()
        return request_token.realms.split() if request_token else []

    def get_redirect_uri(self, token, request):
        return RequestToken.objects.get(token=token).callback

    # Validation.

    def validate_client_key(self, client_key, request):
        return Client.objects.filter(client_key=client_key).exists()

    def validate_request_token(self, client_key, token, request):
        return self._open_request_token(token, client_key) is not None

    def validate_access_token(self, client_key, token, request):
        access_token = AccessToken.objects.select_related("user").filter(
            token=token, client__client_key=client_key
        ).first()
        if access_token is None:
            return False
        request.user = access_token.user
        return True

    def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request, request_token=None,
                                     access_token=None):
        try:
            with transaction.atomic():
                Nonce.objects.create(client_key=client_key, timestamp=timestamp, nonce=nonce,
                                     token=request_token or access_token or "")
        except IntegrityError:
            return False
        return True

    def validate_redirect_uri(self, client_key, redirect_uri, request):
        client = Client.objects.filter(client_key=client_key).first()
        if client is None:
            return False
        return callback_without_query(redirect_uri) in client.allowed_callbacks()

    def validate_requested_realms(self, client_key, realms, request):
        return not realms

    def validate_realms(self, client_key, token, request, uri=None, realms=None):
        return True

    def validate_verifier(self, client_key, token, verifier, request):
        request_token = self._open_request_token(token, client_key)
        if request_token is None or request_token.user_id is None or not request_token.verifier:
            return False
        if not hmac.compare_digest(request_token.verifier.encode(), verifier.encode()):
            return False
        request.user = request_token.user
        return True

    def verify_request_token(self, token, request):
        request_token = self._open_request_token(token)
        return request_token is not None and not request_token.verifier

    def verify_realms(self, token, realms, request):
        return set(realms) <= set(self.get_realms(token, request))

    # Storage.

    def save_request_token(self, token, request):
        RequestToken.objects.create(
            client=Client.objects.get(client_key=request.client_key),
            token=token["oauth_token"],
            secret=token["oauth_token_secret"],
            callback=request.redirect_uri,
            realms=" ".join(request.realms or []),
        )

    def save_verifier(self, token, verifier, request):
        updated = RequestToken.objects.filter(token=token, closed_at__isnull=True, verifier="").update(
            verifier=verifier["oauth_verifier"], user=self.user
        )
        if not updated:
            raise ValueError("The request token is closed or already authorized")

    def save_access_token(self, token, request):
        request_token = RequestToken.objects.select_related("client").get(token=request.resource_owner_key)
        AccessToken.objects.create(
            client=request_token.client,
            user=request_token.user,
            token=token["oauth_token"],
            secret=token["oauth_token_secret"],
            realms=request_token.realms,
        )

    def invalidate_request_token(self, client_key, request_token, request):
        # NOTE: oauthlib validates, issues the access token and only then calls this, so two
        # concurrent exchanges of one request token (with different nonces) can both succeed.
        RequestToken.objects.filter(token=request_token, client__client_key=client_key).update(
            closed_at=timezone.now()
        )

    def close_request_token(self, token):
        """Close a request token the user denied; return its callback URI, or None if it is not open."""
        request_token = self._open_request_token(token)
        if request_token is None or request_token.verifier:
            return None
        RequestToken.objects.filter(pk=request_token.pk).update(closed_at=timezone.now())
        return request_token.callback
