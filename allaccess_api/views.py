"""API views: validate input, call a flow, serialize the result."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from allaccess_api import accounts, exceptions, flows, openapi_examples, proxy
from allaccess_api.models import Provider
from allaccess_api.serializers import (
    AccountSerializer,
    AuthorizationSerializer,
    AuthorizeSerializer,
    CallbackSerializer,
    LogoutSerializer,
    ProviderSerializer,
    RefreshSerializer,
    SignInSerializer,
    UserSerializer,
)


class ProviderListView(generics.ListAPIView):
    """List the enabled providers."""

    permission_classes = [AllowAny]
    authentication_classes = []
    serializer_class = ProviderSerializer
    pagination_class = None

    def get_queryset(self):
        return Provider.objects.enabled()

    @extend_schema(summary="List providers", operation_id="providers_list", examples=openapi_examples.PROVIDER_LIST)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ProviderDetailView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    api_errors = [exceptions.ProviderNotFound]

    @extend_schema(summary="Show one provider", responses={200: ProviderSerializer},
                   examples=openapi_examples.PROVIDER_DETAIL)
    def get(self, request, name):
        """Return one enabled provider."""
        provider = flows.get_enabled_provider(name)
        return Response(ProviderSerializer(provider).data)


@extend_validation_errors([exceptions.RedirectURINotAllowed.default_code], field_name="redirect_uri", methods=["post"])
@extend_validation_errors([exceptions.InvalidCodeChallenge.default_code], field_name="code_challenge", methods=["post"])
@extend_validation_errors(
    [exceptions.InvalidCodeChallenge.default_code], field_name="code_challenge_method", methods=["post"]
)
class AuthorizeView(APIView):
    permission_classes = [AllowAny]
    throttle_scope = "allaccess_authorize"
    # ProviderUnavailable and ProviderTimeout come from the OAuth 1.0a request token step.
    api_errors = [exceptions.ProviderNotFound, exceptions.ProviderUnavailable, exceptions.ProviderTimeout,
                  exceptions.InactiveUser, exceptions.ReauthenticationRequired, InvalidToken]

    @extend_schema(summary="Start a sign-in or link flow", request=AuthorizeSerializer,
                   responses={201: AuthorizationSerializer}, examples=openapi_examples.AUTHORIZE)
    def post(self, request, name):
        """Record a pending authorization and return the provider's consent URL.

        With a JWT in the Authorization header, the flow links the provider
        account to that user instead of signing in.
        """
        provider = flows.get_enabled_provider(name)
        serializer = AuthorizeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)

        started = flows.start_authorization(
            provider, user=request.user, auth_token=request.auth, **_authorize_arguments(serializer)
        )
        return Response(AuthorizationSerializer(started).data, status=status.HTTP_201_CREATED)


def _authorize_arguments(serializer):
    data = serializer.validated_data
    return {"redirect_uri": data["redirect_uri"], "code_challenge": data.get("code_challenge", ""),
            "scope": data.get("scope")}


class CallbackView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_scope = "allaccess_callback"
    api_errors = [
        exceptions.ProviderNotFound,
        exceptions.InvalidState,
        exceptions.StateExpired,
        exceptions.BindingMismatch,
        exceptions.AccessDenied,
        exceptions.ProviderError,
        exceptions.TokenExchangeFailed,
        exceptions.IssuerMismatch,
        exceptions.InvalidIDToken,
        exceptions.AccountInUse,
        exceptions.SignupClosed,
        exceptions.InactiveUser,
        exceptions.ProviderUnavailable,
        exceptions.IdentifierMissing,
        exceptions.ProviderTimeout,
    ]

    @extend_schema(summary="Finish a flow and sign in", request=CallbackSerializer,
                   responses={200: SignInSerializer}, examples=openapi_examples.CALLBACK)
    def post(self, request, name):
        """Exchange the callback's code, link the provider account and return our JWTs."""
        provider = flows.get_enabled_provider(name)
        serializer = CallbackSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)

        completed = flows.complete_authorization(provider, **serializer.validated_data)
        return Response(SignInSerializer(completed).data)


class TokenView(APIView):
    """Base of views that take a refresh JWT in the body instead of a header."""

    permission_classes = [AllowAny]
    authentication_classes = []

    def get_authenticate_header(self, request):
        # An invalid JWT is a 401, as in simplejwt's own views; without a
        # WWW-Authenticate value DRF would turn it into a 403.
        return 'Bearer realm="api"'


class RefreshView(TokenView):
    throttle_scope = "allaccess_refresh"
    api_errors = [InvalidToken, exceptions.InactiveUser]

    @extend_schema(summary="Refresh the JWTs", request=RefreshSerializer, responses={200: RefreshSerializer},
                   examples=openapi_examples.REFRESH)
    def post(self, request):
        """Exchange a refresh JWT for a new pair; the old refresh JWT stops working."""
        serializer = RefreshSerializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        return Response(serializer.validated_data)


class LogoutView(TokenView):
    throttle_scope = "allaccess_refresh"
    api_errors = [InvalidToken]

    @extend_schema(summary="Log out", request=LogoutSerializer, responses={204: OpenApiResponse(description="Logged out.")},
                   examples=openapi_examples.LOGOUT)
    def post(self, request):
        """Revoke a refresh JWT."""
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            serializer.save()
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = [IsAuthenticated]
    api_errors = [InvalidToken, exceptions.InactiveUser]

    @extend_schema(summary="Show the current user", responses={200: UserSerializer}, examples=openapi_examples.ME)
    def get(self, request):
        """Return the signed-in user."""
        return Response(UserSerializer(request.user).data)


class AccountListView(APIView):
    permission_classes = [IsAuthenticated]
    api_errors = [InvalidToken, exceptions.InactiveUser]

    @extend_schema(summary="List linked accounts", operation_id="accounts_list",
                   responses={200: AccountSerializer(many=True)}, examples=openapi_examples.ACCOUNT_LIST)
    def get(self, request):
        """Return the provider accounts linked to the signed-in user."""
        return Response(AccountSerializer(accounts.user_accounts(request.user), many=True).data)


class AccountDetailView(APIView):
    permission_classes = [IsAuthenticated]
    api_errors = [InvalidToken, exceptions.InactiveUser, NotFound]

    @extend_schema(summary="Show one linked account", responses={200: AccountSerializer},
                   examples=openapi_examples.ACCOUNT_DETAIL)
    def get(self, request, account_id):
        """Return one of the signed-in user's accounts; another user's account is not found."""
        return Response(AccountSerializer(accounts.get_user_account(request.user, account_id)).data)

    @extend_schema(summary="Unlink an account", responses={204: OpenApiResponse(description="Unlinked.")})
    def delete(self, request, account_id):
        """Unlink an account and revoke its tokens at the provider.

        A user without a usable password cannot unlink their last account
        (409 last_login_method). A failed revocation is logged and does not
        stop the unlink.
        """
        accounts.unlink_account(request.user, account_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


_PROXY_RESPONSES = {
    (200, "*/*"): OpenApiResponse(
        OpenApiTypes.BINARY,
        description="The provider's status, body and allowed headers (Content-Type, ETag, Link, Location, "
                    "Retry-After, Cache-Control, Last-Modified, rate-limit headers). The status is the "
                    "provider's, except that a provider 401 becomes 409 reauthorization_required.",
    ),
}
_PROXY_PATH = OpenApiParameter(
    "path", OpenApiTypes.STR, OpenApiParameter.PATH,
    description="Path under the provider's API base URL. Dot segments, empty segments, '@', backslashes "
                "and control characters are rejected, in any percent-encoding.",
)


def _proxy_schema(method, request_body=None):
    return extend_schema(
        summary=f"Call the provider API ({method.upper()})",
        operation_id=f"accounts_proxy_{method}",
        parameters=[_PROXY_PATH],
        request=request_body,
        responses=_PROXY_RESPONSES,
        examples=openapi_examples.PROXY_WITH_BODY if request_body else openapi_examples.PROXY,
    )


class AccountProxyView(APIView):
    """Send the request to the provider's API with the account's stored token."""

    permission_classes = [IsAuthenticated]
    throttle_scope = "allaccess_proxy"
    http_method_names = ["get", "post", "put", "patch", "delete"]
    api_errors = [
        InvalidToken,
        exceptions.InactiveUser,
        NotFound,
        exceptions.ProviderNotFound,
        ParseError,
        exceptions.PathNotAllowed,
        exceptions.RequestTooLarge,
        exceptions.ReauthorizationRequired,
        exceptions.ProviderUnavailable,
        exceptions.ProviderTimeout,
    ]

    @property
    def default_response_headers(self):
        # The provider's response carries only its own allowed headers, not this view's Allow and Vary.
        return {}

    def perform_content_negotiation(self, request, force=False):
        # The client's Accept header is meant for the provider, so this view never returns 406 for it.
        return super().perform_content_negotiation(request, force=True)

    def proxy(self, request, account_id, path):
        account = accounts.get_user_account(request.user, int(account_id))
        return proxy.proxy_request(account, request.method, path, request)

    @_proxy_schema("get")
    def get(self, request, account_id, path):
        return self.proxy(request, account_id, path)

    @_proxy_schema("post", {"*/*": OpenApiTypes.BINARY})
    def post(self, request, account_id, path):
        return self.proxy(request, account_id, path)

    @_proxy_schema("put", {"*/*": OpenApiTypes.BINARY})
    def put(self, request, account_id, path):
        return self.proxy(request, account_id, path)

    @_proxy_schema("patch", {"*/*": OpenApiTypes.BINARY})
    def patch(self, request, account_id, path):
        return self.proxy(request, account_id, path)

    @_proxy_schema("delete")
    def delete(self, request, account_id, path):
        return self.proxy(request, account_id, path)
