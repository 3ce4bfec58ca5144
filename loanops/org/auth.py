"""API authentication: per-client hashed, expiring tokens (django-rest-knox), `Token` header."""

import binascii
from functools import cache
from hmac import compare_digest

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS
from rest_framework import exceptions

from loanops.core.db import Prepared, instances
from loanops.org.models import Branch, User


@cache
def _token_query() -> tuple[Prepared, list[str], list[str]]:
    """The SQL reading a token key's tokens with their users and each user's branch paths, and
    the attribute names of its token and user columns (in the order it selects them)."""
    token_fields = [f for f in get_token_model()._meta.concrete_fields]
    user_fields = [f for f in User._meta.concrete_fields]
    through = User.branches.through._meta.db_table
    columns = [f"t.{f.column}" for f in token_fields] + [f"u.{f.column}" for f in user_fields]
    sql = (
        f"SELECT {', '.join(columns)}, "
        f"ARRAY(SELECT b.path FROM {through} ub JOIN {Branch._meta.db_table} b ON b.id = ub.branch_id "
        f"WHERE ub.user_id = u.id ORDER BY b.path) "
        f"FROM {get_token_model()._meta.db_table} t JOIN {User._meta.db_table} u ON u.id = t.user_id "
        f"WHERE t.token_key = %(key)s::text"
    )
    return Prepared("api_tokens", sql), [f.attname for f in token_fields], [f.attname for f in user_fields]


def _tokens(token_key: str) -> list:
    """The tokens with this key, each with its user, and the user's branch paths already read
    (scoping asks for them on every request: one query instead of three)."""
    query, token_names, user_names = _token_query()
    tokens = []
    for row in query.rows({"key": token_key}):
        [auth_token] = instances(get_token_model(), token_names, [row[: len(token_names)]])
        [user] = instances(User, user_names, [row[len(token_names) : -1]])
        user._branch_paths = row[-1]
        auth_token.user = user
        tokens.append(auth_token)
    return tokens


class ApiTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, token: bytes):
        """knox's check (the key selects candidate tokens, the digest must match, expired tokens
        are refused), reading token, user and branches in one query."""
        msg = _("Invalid token.")
        try:
            token = token.decode("utf-8")
            digest = hash_token(token)
        except (TypeError, UnicodeDecodeError, binascii.Error) as exc:
            raise exceptions.AuthenticationFailed(msg) from exc
        for auth_token in _tokens(token[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if self._cleanup_token(auth_token):
                continue
            if compare_digest(digest, auth_token.digest):
                return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed(msg)

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
