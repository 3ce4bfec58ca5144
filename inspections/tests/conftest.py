import pytest

from loanops.org.models import Role
from loanops.org.tests.factories import UserFactory


@pytest.fixture
def admin(org):
    return UserFactory(username="root", role=Role.ADMIN)


@pytest.fixture
def dave(org):
    """The credit department head of institution NORTE (branch A)."""
    return UserFactory(username="dave", role=Role.CREDIT_HEAD, branches=[org["north"]], first_name="Dave")


@pytest.fixture
def risk(org):
    return UserFactory(username="rita", role=Role.RISK, branches=[org["head"]])


@pytest.fixture
def loan(admin, alice):
    from inspections.tests.helpers import make_loan

    return make_loan("L-1", admin=admin, officer=alice)
