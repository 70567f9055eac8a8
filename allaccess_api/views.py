"""API views: validate input, call a flow, serialize the result."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import generics, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from allaccess_api import exceptions, flows
from allaccess_api.models import Provider
from allaccess_api.serializers import (
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

    @extend_schema(summary="List providers", operation_id="providers_list")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ProviderDetailView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    api_errors = [exceptions.ProviderNotFound]

    @extend_schema(summary="Show one provider", responses={200: ProviderSerializer})
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
    api_errors = [exceptions.ProviderNotFound, exceptions.ProviderUnavailable, exceptions.InactiveUser, InvalidToken]

    @extend_schema(summary="Start a sign-in or link flow", request=AuthorizeSerializer,
                   responses={201: AuthorizationSerializer})
    def post(self, request, name):
        """Record a pending authorization and return the provider's consent URL.

        With a JWT in the Authorization header, the flow links the provider
        account to that user instead of signing in.
        """
        provider = flows.get_enabled_provider(name)
        serializer = AuthorizeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)

        started = flows.start_authorization(provider, user=request.user, **_authorize_arguments(serializer))
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
        exceptions.AccountInUse,
        exceptions.SignupClosed,
        exceptions.InactiveUser,
        exceptions.ProviderUnavailable,
        exceptions.IdentifierMissing,
        exceptions.ProviderTimeout,
    ]

    @extend_schema(summary="Finish a flow and sign in", request=CallbackSerializer,
                   responses={200: SignInSerializer})
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

    @extend_schema(summary="Refresh the JWTs", request=RefreshSerializer, responses={200: RefreshSerializer})
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

    @extend_schema(summary="Log out", request=LogoutSerializer, responses={204: OpenApiResponse(description="Logged out.")})
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

    @extend_schema(summary="Show the current user", responses={200: UserSerializer})
    def get(self, request):
        """Return the signed-in user."""
        return Response(UserSerializer(request.user).data)
