"""OpenAPI generation: the product's error codes documented per operation.

drf-standardized-errors documents DRF's own errors. This schema class adds the
errors each view names in ``api_errors``, with their codes as an enum and one
example per code.
"""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiExample, PolymorphicProxySerializer, extend_schema_field
from drf_standardized_errors.openapi import AutoSchema as StandardizedErrorsAutoSchema
from drf_standardized_errors.openapi_serializers import (
    ClientErrorEnum,
    ErrorCode401Enum,
    ErrorCode403Enum,
    ErrorCode404Enum,
    ParseErrorCodeEnum,
    ServerErrorEnum,
)
from inflection import camelize
from rest_framework import serializers

# Codes DRF itself raises at a status, documented beside the product's own.
DRF_CODES = {
    400: [ParseErrorCodeEnum.PARSE_ERROR.value],
    401: [code.value for code in ErrorCode401Enum],
    403: [code.value for code in ErrorCode403Enum],
    404: [code.value for code in ErrorCode404Enum],
}


class JWTAuthenticationScheme(SimpleJWTScheme):
    """Documents the product's JWT authentication as simplejwt's Bearer scheme."""

    target_class = "allaccess_api.authentication.JWTAuthentication"


CODE_ENUM_MARKER = "x-allaccess-code-enum"


def name_error_code_enums(result, generator, request, public):
    """Move each operation's error code enum into a component named after its error schema.

    A postprocessing hook: it runs before the enum hook, which then finds references
    instead of inline enums and has no name collisions to report.
    """
    schemas = result.get("components", {}).get("schemas", {})
    for name, schema in list(schemas.items()):
        code = schema.get("properties", {}).get("code", {})
        if not code.pop(CODE_ENUM_MARKER, False):
            continue
        component = ResolvedComponent(
            name=f"{name}CodeEnum",
            type=ResolvedComponent.SCHEMA,
            schema={"type": "string", "enum": code["enum"]},
            object=f"{name}CodeEnum",
        )
        # The enum hook rebuilds the components from the registry, so the new one goes there.
        generator.registry.register_on_missing(component)
        schema["properties"]["code"] = component.ref
    return result


def error_type(status_code):
    return "server_error" if status_code >= 500 else "client_error"


def build_error_response_serializer(component_name, status_code, codes):
    """Return a serializer class for the error envelope with ``codes`` as the code enum."""
    # Each operation has its own set of codes. name_error_code_enums() names the enum after this
    # component, because drf-spectacular would name every set "CodeEnum" and hash the clashes.
    code_field = extend_schema_field({"type": "string", "enum": list(codes), CODE_ENUM_MARKER: True})(
        type(f"{component_name}Code", (serializers.CharField,), {})
    )
    type_choices = ServerErrorEnum.choices if status_code >= 500 else ClientErrorEnum.choices
    error = type(
        f"{component_name}Error",
        (serializers.Serializer,),
        {
            "code": code_field(),
            "detail": serializers.CharField(),
            "attr": serializers.CharField(allow_null=True),
            "__module__": __name__,
        },
    )
    return type(
        component_name,
        (serializers.Serializer,),
        {
            "type": serializers.ChoiceField(choices=type_choices),
            "errors": error(many=True),
            "__module__": __name__,
        },
    )


class AutoSchema(StandardizedErrorsAutoSchema):
    """drf-standardized-errors' schema plus each view's ``api_errors``."""

    def _api_errors(self):
        return list(getattr(self.view, "api_errors", ()))

    def _api_error_codes(self, status_code):
        codes = [exc.default_code for exc in self._api_errors() if exc.status_code == status_code]
        if not codes:
            return []
        return list(dict.fromkeys(DRF_CODES.get(status_code, []) + codes))

    def _get_allowed_error_status_codes(self):
        statuses = super()._get_allowed_error_status_codes()
        for exc in self._api_errors():
            if str(exc.status_code) not in statuses:
                statuses.append(str(exc.status_code))
        return sorted(statuses)

    def _should_add_error_response(self, responses, status_code):
        if status_code in responses:
            return False
        if self._api_error_codes(int(status_code)):
            return True
        return super()._should_add_error_response(responses, status_code)

    def _get_error_response_serializer(self, status_code):
        codes = self._api_error_codes(int(status_code))
        if not codes or status_code == "400":
            return super()._get_error_response_serializer(status_code)
        name = f"{camelize(self.get_operation_id())}ErrorResponse{status_code}"
        return build_error_response_serializer(name, int(status_code), codes)

    def _get_http400_serializer(self):
        serializer = super()._get_http400_serializer()
        codes = self._api_error_codes(400)
        if not codes:
            return serializer
        name = f"{camelize(self.get_operation_id())}ClientErrorResponse400"
        serializers_by_type = dict(serializer.serializers)
        serializers_by_type["client_error"] = build_error_response_serializer(name, 400, codes)
        return PolymorphicProxySerializer(
            component_name=serializer.component_name,
            serializers=serializers_by_type,
            resource_type_field_name="type",
        )

    def _get_error_response_examples(self):
        examples = super()._get_error_response_examples()
        # drf-standardized-errors documents DRF's parse_error at 400 without an example.
        examples.append(OpenApiExample(
            "parse_error",
            value={"type": "client_error", "errors": [
                {"code": "parse_error", "detail": "JSON parse error - Expecting value: line 1 column 1 (char 0)",
                 "attr": None}]},
            response_only=True,
            status_codes=["400"],
        ))
        for exc in self._api_errors():
            examples.append(
                OpenApiExample(
                    exc.default_code,
                    value={
                        "type": error_type(exc.status_code),
                        "errors": [{"code": exc.default_code, "detail": str(exc.default_detail), "attr": None}],
                    },
                    response_only=True,
                    status_codes=[str(exc.status_code)],
                )
            )
        return examples
