"""JWT authentication that reports inactive users with the product's error."""

from rest_framework_simplejwt.authentication import JWTAuthentication as SimpleJWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed

from allaccess_api import exceptions


class JWTAuthentication(SimpleJWTAuthentication):
    """simplejwt's Bearer authentication; an inactive user gets 403 ``inactive_user``.

    The scheme name is matched case-insensitively (RFC 9110 §11.1), so a
    ``bearer`` header is not silently ignored.
    """

    def get_raw_token(self, header):
        scheme, _, token = header.partition(b" ")
        if scheme.lower() == b"bearer":
            header = b"Bearer " + token
        return super().get_raw_token(header)

    def get_user(self, validated_token):
        try:
            return super().get_user(validated_token)
        except AuthenticationFailed as exc:
            # simplejwt puts its own code inside the detail dict.
            if isinstance(exc.detail, dict) and exc.detail.get("code") == "user_inactive":
                raise exceptions.InactiveUser() from exc
            raise
