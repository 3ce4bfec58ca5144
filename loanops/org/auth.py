"""API authentication: per-client hashed, expiring tokens (django-rest-knox), `Token` header.

Core banking calls hundreds of times a second with the same token. A web process keeps the
tokens it has checked (token, user and branch paths, by digest) on its database connection, and
trusts them only while nothing they were read from can have changed: the connection LISTENs on
`loanops_api_auth` before it reads a token, and triggers on tokens, users, branch memberships and
branches NOTIFY that channel when a change commits (migration org 0002). Each request first
reads any notice already delivered (no round trip): one notice empties the cache. So revoking a
token, deactivating a client or changing its branches takes effect for the next request, as it
did when every request read the database. Expiry and the active flag are checked on every use.
Inside a transaction (tests, management code) notices are not delivered, so the cache is not used.
A connection that breaks is not trusted, and the cache goes with its connection (CONN_MAX_AGE).
"""

import binascii
import collections
from functools import cache
from hmac import compare_digest

import psycopg2
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS
from rest_framework import exceptions

from loanops.core.db import Prepared, instances, loaded
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


def _token_rows(token_key: str) -> list[tuple]:
    """The tokens with this key, each with its user and the user's branch paths (scoping asks
    for them on every request: one query instead of three)."""
    query, _token_names, _user_names = _token_query()
    return query.rows({"key": token_key})


def _token(row: tuple):
    """A fresh token instance (with its user) from a row of `_token_rows`."""
    _query, token_names, user_names = _token_query()
    [auth_token] = instances(get_token_model(), token_names, [row[: len(token_names)]])
    [user] = instances(User, user_names, [row[len(token_names) : -1]])
    user._branch_paths = row[-1]
    auth_token.user = user
    return auth_token


def _fresh(auth_token):
    """A copy of a checked token and of its user for one request (what it sets on them stays its
    own), as a fresh read would give: much cheaper than building them again from their row."""
    copied = loaded(type(auth_token), auth_token.__dict__)
    copied.user = loaded(User, auth_token.user.__dict__)
    return copied


_CHANNEL = "loanops_api_auth"
_CACHE_LIMIT = 1000


class _Heard:
    """Stands in for psycopg2's `notifies` and `notices` lists: records that something came (the
    last few notices are kept, as psycopg2 does)."""

    __slots__ = ("came", "kept")

    def __init__(self) -> None:
        self.came = False
        self.kept: collections.deque = collections.deque(maxlen=50)

    def append(self, message) -> None:
        self.came = True
        self.kept.append(message)


class _CheckedTokens:
    """Tokens (with their users) checked on one database connection, by digest, and what it heard.
    A request gets copies of them (`_fresh`)."""

    def __init__(self, raw) -> None:
        self.raw = raw
        self.tokens: dict[str, object] = {}
        raw.notifies = self.changes = _Heard()
        raw.notices = self.notices = _Heard()


def _checked_tokens() -> dict[str, object] | None:
    """This connection's checked tokens, once what the server sent meanwhile is read; None when
    they cannot be trusted: no connection yet, a new one, inside a transaction, or a connection
    the server is ending (it says so with a message while idle; a broken one fails to poll).

    Reading what the server sent is also the request's health check (CONN_HEALTH_CHECKS): an idle
    connection that polls without error or message is alive, and Django's `SELECT 1` is skipped.
    Otherwise Django's check runs here, outside any transaction: a connection found broken is
    simply replaced, never inside a payment's transaction."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.in_atomic_block:
        return None
    raw = db.connection
    checked = getattr(db, "_checked_tokens", None)
    if raw is None or checked is None or checked.raw is not raw:
        db.close_if_health_check_failed()
        return None
    checked.notices.came = False
    try:
        raw.poll()  # reads what the server has sent meanwhile, without waiting
    except psycopg2.Error:
        db.close_if_health_check_failed()
        return None
    if checked.changes.came or checked.notices.came:
        checked.changes.came = False
        checked.tokens.clear()
    if checked.notices.came:
        db.close_if_health_check_failed()
        return None
    db.health_check_done = True
    return checked.tokens


def _listening() -> _CheckedTokens | None:
    """Make sure this connection listens for changes (before it reads a token: a change that
    commits after the read is then always noticed), and return its checked tokens."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.in_atomic_block:
        return None
    with db.cursor() as cursor:  # a health check due now happens here (it may reconnect)
        checked = getattr(db, "_checked_tokens", None)
        if checked is None or checked.raw is not db.connection:
            cursor.execute(f"LISTEN {_CHANNEL}")
            checked = db._checked_tokens = _CheckedTokens(db.connection)
    return checked


class ApiTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, token: bytes):
        """knox's check (the key selects candidate tokens, the digest must match, expired tokens
        are refused), reading token, user and branches in one query, or taking them from the
        tokens this connection has checked already (see the module's docstring)."""
        msg = _("Invalid token.")
        try:
            token = token.decode("utf-8")
            digest = hash_token(token)
        except (TypeError, UnicodeDecodeError, binascii.Error) as exc:
            raise exceptions.AuthenticationFailed(msg) from exc
        checked = _checked_tokens()
        known = checked.get(digest) if checked is not None else None
        if known is not None:
            auth_token = _fresh(known)
            if not self._cleanup_token(auth_token):
                return self.validate_user(auth_token)
        listening = _listening()
        for row in _token_rows(token[: CONSTANTS.TOKEN_KEY_LENGTH]):
            auth_token = _token(row)
            if self._cleanup_token(auth_token):
                continue
            if compare_digest(digest, auth_token.digest):
                answer = self.validate_user(auth_token)
                if listening is not None:
                    if len(listening.tokens) >= _CACHE_LIMIT:
                        listening.tokens.clear()
                    listening.tokens[digest] = _fresh(auth_token)
                return answer
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
