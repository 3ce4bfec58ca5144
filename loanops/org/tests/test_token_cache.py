"""Checked API tokens are kept per database connection and dropped by any change that commits
to tokens, users, branch memberships or branches (LISTEN/NOTIFY): a revoked token, a
deactivated client or new branches count from the next request on. Transactional tests: inside
a transaction the server holds notices back, so there the cache is not used at all."""

import time
from io import StringIO

import psycopg2
import pytest
from django.core.management import call_command
from django.db import close_old_connections, connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken

from loanops.org import auth
from loanops.org.models import Branch, User

pytestmark = pytest.mark.django_db(transaction=True)


def _create(*args) -> str:
    out = StringIO()
    call_command("create_api_client", *args, stdout=out)
    return out.getvalue().split()[-1]


def _get(client, token, path="/api/v1/loans"):
    if not connection.in_atomic_block:
        close_old_connections()  # what a web request starts with (the test client leaves it out)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, HTTP_AUTHORIZATION=f"Token {token}")
    token_reads = [q for q in queries if "EXECUTE api_tokens" in q["sql"]]
    return response.status_code, len(token_reads)


def _from_another_connection(sql: str, params=()) -> None:
    """A change committed by another process (its own connection)."""
    db = connection.settings_dict
    other = psycopg2.connect(dbname=db["NAME"], user=db["USER"], host=db["HOST"], port=db["PORT"],
                             password=db["PASSWORD"])  # fmt: skip
    try:
        with other, other.cursor() as cursor:
            cursor.execute(sql, params)
    finally:
        other.close()


@pytest.fixture
def ended_connection():
    """Ends this test's database connection as a server restart would (its server process
    terminated), once the process is gone, so that the client side can see it. Afterwards a
    connection left broken by a failed test is closed, not handed to the next test."""

    def end() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            [pid] = cursor.fetchone()
        _from_another_connection("SELECT pg_terminate_backend(%s)", (pid,))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # pg_terminate_backend only signals the process
            db = connection.settings_dict
            other = psycopg2.connect(dbname=db["NAME"], user=db["USER"], host=db["HOST"], port=db["PORT"],
                                     password=db["PASSWORD"])  # fmt: skip
            try:
                with other.cursor() as cursor:
                    cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,))
                    gone = cursor.fetchone() is None
            finally:
                other.close()
            if gone:
                break
            time.sleep(0.02)
        time.sleep(0.2)  # the server's goodbye reaches the socket

    yield end
    if connection.connection is not None and not connection.is_usable():
        connection.close()


def _until(client, token, status: int, path="/api/v1/loans") -> int:
    """The status once the other connection's notice has arrived (it travels through the server)."""
    deadline = time.monotonic() + 5
    while True:
        answer, _reads = _get(client, token, path)
        if answer == status or time.monotonic() > deadline:
            return answer
        time.sleep(0.02)


def test_a_checked_token_is_not_read_again(org, client):
    token = _create("core-banking")
    assert _get(client, token) == (200, 1)
    assert _get(client, token) == (200, 0)
    assert _get(client, token) == (200, 0)


def test_re_keying_takes_effect_for_the_next_request(org, client):
    old = _create("core-banking")
    assert _get(client, old) == (200, 1)
    assert _get(client, old)[1] == 0  # cached
    new = _create("core-banking")
    assert _get(client, old) == (401, 1)
    assert _get(client, new) == (200, 1)


def test_a_change_committed_elsewhere_is_noticed(org, client):
    token = _create("core-banking")
    assert _get(client, token) == (200, 1)
    assert _get(client, token) == (200, 0)
    _from_another_connection("UPDATE org_user SET is_active = false WHERE username = 'core-banking'")
    assert _until(client, token, 401) == 401
    _from_another_connection("UPDATE org_user SET is_active = true WHERE username = 'core-banking'")
    assert _until(client, token, 200) == 200
    _from_another_connection("DELETE FROM knox_authtoken")
    assert _until(client, token, 401) == 401


def test_new_branches_count_from_the_next_request(org, client):
    token = _create("limited", "--branch", "BR-A")
    assert _get(client, token, "/api/v1/branches/BR-B") == (404, 1)
    assert _get(client, token, "/api/v1/branches/BR-B") == (404, 0)
    User.objects.get(username="limited").branches.add(org["b"])
    assert _get(client, token, "/api/v1/branches/BR-B") == (200, 1)
    Branch.objects.filter(code="BR-B").update(path="ELSEWHERE/")  # a branch moved out of reach
    assert _get(client, token, "/api/v1/branches/BR-B")[1] == 1


def test_a_token_that_expires_while_kept_is_refused(org, client, monkeypatch):
    token = _create("core-banking")
    assert _get(client, token) == (200, 1)
    expiry = AuthToken.objects.get().expiry
    later = expiry + timezone.timedelta(seconds=1)
    monkeypatch.setattr(auth.timezone, "now", lambda: later)
    assert _get(client, token)[0] == 401


def test_a_new_connection_listens_again_and_reads_again(org, client):
    token = _create("core-banking")
    assert _get(client, token) == (200, 1)
    connection.close()
    assert _get(client, token) == (200, 1)
    assert _get(client, token) == (200, 0)
    _from_another_connection("DELETE FROM knox_authtoken")
    assert _until(client, token, 401) == 401


def test_inside_a_transaction_tokens_are_read_every_time(org, client):
    token = _create("core-banking")
    with transaction.atomic():
        assert _get(client, token) == (200, 1)
        assert _get(client, token) == (200, 1)


def test_a_connection_the_server_ended_is_not_trusted(org, client, ended_connection):
    token = _create("core-banking")
    assert _get(client, token) == (200, 1)
    ended_connection()
    assert _get(client, token) == (200, 1)
    assert _get(client, token) == (200, 0)


def test_a_connection_found_broken_is_replaced_before_the_view_runs(org, client, monkeypatch, ended_connection):
    """A kept connection that fails its check (here: its server process was ended) is replaced when
    the token is looked up, outside any transaction, not inside a payment's transaction."""
    token = _create("core-banking")
    assert _get(client, token) == (200, 1)
    assert _get(client, token) == (200, 0)
    checks = []
    usable = type(connections["default"]).is_usable
    monkeypatch.setattr(type(connections["default"]), "is_usable", lambda self: checks.append(1) or usable(self))
    ended_connection()
    assert _get(client, token) == (200, 1)  # a new connection: listens and reads again
    assert checks == [1]


def test_a_kept_connection_is_checked_without_a_query(org, client, monkeypatch):
    """Polling the kept connection is the request's health check: no `SELECT 1` round trip."""
    token = _create("core-banking")
    assert _get(client, token) == (200, 1)
    checks = []
    usable = type(connections["default"]).is_usable
    monkeypatch.setattr(type(connections["default"]), "is_usable", lambda self: checks.append(1) or usable(self))
    assert _get(client, token) == (200, 0)
    assert _get(client, token) == (200, 0)
    assert checks == []


def test_each_request_gets_its_own_copy_of_a_kept_token_and_user(org):
    """What one request sets on its token or user never reaches the next: each gets copies of the
    kept instances, with the same values as a fresh read."""
    from rest_framework.test import APIRequestFactory

    token = _create("core-copies")
    factory = APIRequestFactory()
    authentication = auth.ApiTokenAuthentication()

    def authenticate():
        close_old_connections()
        request = factory.get("/api/v1/loans", HTTP_AUTHORIZATION=f"Token {token}")
        return authentication.authenticate(request)

    first_user, first_token = authenticate()  # read, then kept
    second_user, second_token = authenticate()  # from the kept ones
    third_user, third_token = authenticate()
    assert second_user is not third_user
    assert second_token is not third_token
    assert second_token.user is second_user
    second_user.first_name = "changed by a request"
    second_user._branch_paths = ["X/"]
    assert third_user.first_name == first_user.first_name
    assert third_user._branch_paths == first_user._branch_paths
    assert [getattr(third_user, f.attname) for f in User._meta.concrete_fields] == [
        getattr(first_user, f.attname) for f in User._meta.concrete_fields
    ]
    assert third_token.digest == first_token.digest
    assert third_token.expiry == first_token.expiry
    assert not third_user._state.adding
    assert third_user._state.db == "default"
