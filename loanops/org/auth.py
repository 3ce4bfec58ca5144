"""API authentication: per-client hashed, expiring tokens (django-rest-knox), `Token` header."""

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication


class ApiTokenAuthentication(TokenAuthentication):
    def _cleanup_token(self, auth_token) -> bool:
        """Refuse an expired token, without sweeping the client's other tokens on every request
        (re-keying a client deletes its old tokens)."""
        return auth_token.expiry is not None and auth_token.expiry < timezone.now()


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI document describes the token header."""

    target_class = "loanops.org.auth.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`, as printed by `manage.py create_api_client`.",
        }
