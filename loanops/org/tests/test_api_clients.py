from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken

from loanops.org.auth import ApiTokenAuthentication
from loanops.org.models import User
from loanops.org.scoping import visible_paths

pytestmark = pytest.mark.django_db


def _create(*args) -> str:
    out = StringIO()
    call_command("create_api_client", *args, stdout=out)
    return out.getvalue().split()[-1]


def test_it_prints_a_token_that_is_stored_hashed_and_expires(org, client):
    token = _create("core-banking")
    stored = AuthToken.objects.get(user__username="core-banking")
    assert token not in (stored.digest, stored.token_key)
    assert stored.expiry > timezone.now()
    assert client.get("/api/v1/loans", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200


def test_re_keying_revokes_the_old_token(org, client):
    old = _create("core-banking")
    new = _create("core-banking")
    assert client.get("/api/v1/loans", HTTP_AUTHORIZATION=f"Token {old}").status_code == 401
    assert client.get("/api/v1/loans", HTTP_AUTHORIZATION=f"Token {new}").status_code == 200


def test_an_expired_token_is_refused(org, client):
    token = _create("core-banking")
    AuthToken.objects.update(expiry=timezone.now())
    assert client.get("/api/v1/loans", HTTP_AUTHORIZATION=f"Token {token}").status_code == 401


def test_unknown_branch_is_an_error(org):
    with pytest.raises(CommandError):
        _create("core-banking", "--branch", "NOPE")


def test_branch_limited_client_cannot_touch_other_branches(org, client):
    token = _create("limited", "--branch", "BR-A")
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    assert client.get("/api/v1/branches/BR-B", **auth).status_code == 404
    assert client.get("/api/v1/branches/BR-A", **auth).status_code == 200
    body = {"name": "New", "parent": "SUR"}
    assert client.put("/api/v1/branches/NEW", body, content_type="application/json", **auth).status_code == 403


def test_branch_upsert_builds_the_tree(api):
    assert api.put("/api/v1/branches/X1", {"name": "Top"}, format="json").status_code == 201
    assert api.put("/api/v1/branches/X2", {"name": "Inst", "parent": "X1"}, format="json").status_code == 201
    response = api.put("/api/v1/branches/X3", {"name": "Branch", "parent": "X2"}, format="json")
    assert response.status_code == 201
    assert response.json()["path"] == "X1/X2/X3/"
    assert api.put("/api/v1/branches/X3", {"name": "Renamed", "parent": "X2"}, format="json").status_code == 200
    assert api.put("/api/v1/branches/X1", {"name": "Loop", "parent": "X3"}, format="json").status_code == 400
    assert api.put("/api/v1/branches/X9", {"name": "Orphan", "parent": "NOPE"}, format="json").status_code == 400
    assert api.put("/api/v1/branches/bad code", {"name": "x"}, format="json").status_code == 400


@pytest.mark.parametrize("credentials", ["zz-not-hex", "0" * 64, "é", "a b"])
def test_a_malformed_or_unknown_token_is_refused(org, client, credentials):
    _create("core-banking")
    response = client.get("/api/v1/loans", HTTP_AUTHORIZATION=f"Token {credentials}")
    assert response.status_code == 401


def test_a_deactivated_client_is_refused(org, client):
    token = _create("core-banking")
    User.objects.filter(username="core-banking").update(is_active=False)
    assert client.get("/api/v1/loans", HTTP_AUTHORIZATION=f"Token {token}").status_code == 401


def test_token_user_and_branches_are_read_in_one_query(org, rf):
    token = _create("limited", "--branch", "BR-A")
    request = rf.get("/api/v1/loans", HTTP_AUTHORIZATION=f"Token {token}")
    with CaptureQueriesContext(connection) as queries:
        user, auth_token = ApiTokenAuthentication().authenticate(request)
        paths = visible_paths(user)
    assert len(queries) == 1
    assert user.username == "limited"
    assert auth_token.user is user
    assert paths == [org["a"].path]
    assert list(user.branches.values_list("path", flat=True)) == paths


def test_a_client_without_branches_sees_every_branch(org, rf):
    token = _create("everything")
    user, _ = ApiTokenAuthentication().authenticate(rf.get("/", HTTP_AUTHORIZATION=f"Token {token}"))
    assert visible_paths(user) is None
