"""Shared fixtures: the branch-scoping trio and API clients."""

import pytest
from django.core.cache import cache

from loanops.org.models import Role
from loanops.org.services.api_clients import api_client_create
from loanops.org.tests.factories import BranchFactory, UserFactory


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()


@pytest.fixture(autouse=True)
def _reference_data(request):
    """Transactional tests flush every table, migration rows included: put the reference rows
    back for every test that uses the database."""
    marker = request.node.get_closest_marker("django_db")
    uses_db = marker is not None or {"db", "transactional_db"} & set(request.fixturenames)
    if not uses_db:
        return
    transactional = (
        marker is not None and marker.kwargs.get("transaction")
    ) or "transactional_db" in request.fixturenames
    request.getfixturevalue("transactional_db" if transactional else "db")
    from loanops.core.testing import restore_reference_data

    restore_reference_data()


@pytest.fixture
def org(db):
    """HO → two institutions → branch A (BR-A) and branch B (BR-B)."""
    head = BranchFactory(code="HO", name="Head office", parent=None)
    north = BranchFactory(code="NORTE", name="Norte", parent=head)
    south = BranchFactory(code="SUR", name="Sur", parent=head)
    return {
        "head": head,
        "north": north,
        "south": south,
        "a": BranchFactory(code="BR-A", name="Branch A", parent=north),
        "b": BranchFactory(code="BR-B", name="Branch B", parent=south),
    }


@pytest.fixture
def alice(org):
    """A credit officer of branch A."""
    return UserFactory(username="alice", role=Role.CREDIT_OFFICER, branches=[org["a"]])


@pytest.fixture
def bob(org):
    """Alice's colleague: the manager of the same branch."""
    return UserFactory(username="bob", role=Role.BRANCH_MANAGER, branches=[org["a"]])


@pytest.fixture
def charlie(org):
    """A credit officer of another branch (B)."""
    return UserFactory(username="charlie", role=Role.CREDIT_OFFICER, branches=[org["b"]])


@pytest.fixture
def api_token(org):
    """A core-banking client that sees every branch."""
    _, token, _ = api_client_create(name="core-banking", branch_codes=[])
    return token


@pytest.fixture
def api_token_a(org):
    """A core-banking client limited to branch A."""
    _, token, _ = api_client_create(name="core-banking-a", branch_codes=["BR-A"])
    return token


@pytest.fixture
def api(api_token):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token}")
    return client


@pytest.fixture
def api_a(api_token_a):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_a}")
    return client
