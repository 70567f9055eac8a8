"""Protected test resource of the local provider, for checking how clients forward requests."""

from django.http import HttpRequest, JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.views.generic import ProtectedResourceMetadataView


@method_decorator(csrf_exempt, name="dispatch")
class EchoView(ProtectedResourceMetadataView):
    """Protected resource that returns each GET, POST, PUT, PATCH or DELETE request as JSON.

    A valid bearer access token is required. Requests without one get 401 with a
    ``WWW-Authenticate: Bearer`` challenge. The JSON contains the request headers, the
    Authorization header included.
    """

    def get(self, request: HttpRequest, *args, **kwargs) -> JsonResponse:
        return JsonResponse(describe_request(request))

    post = get
    put = get
    patch = get
    delete = get


def describe_request(request: HttpRequest) -> dict:
    """Return the method, path, query, headers, body and token owner of a request."""
    return {
        "method": request.method,
        "path": request.path,
        "query": {key: request.GET.getlist(key) for key in request.GET},
        "headers": dict(request.headers),
        "body": request.body.decode("utf-8", errors="replace"),
        "user": request.resource_owner.get_username(),
    }
