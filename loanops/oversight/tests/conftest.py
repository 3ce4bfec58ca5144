import pytest

from loanops.org.models import Role
from loanops.org.tests.factories import UserFactory


@pytest.fixture
def admin(org):
    return UserFactory(username="root", role=Role.ADMIN)


@pytest.fixture
def risk(org):
    """Head-office risk: signs restriction changes off."""
    return UserFactory(username="rita", role=Role.RISK, branches=[org["head"]])


@pytest.fixture
def risk2(org):
    return UserFactory(username="ramon", role=Role.RISK, branches=[org["head"]])


@pytest.fixture
def auditor(org):
    return UserFactory(username="audrey", role=Role.AUDITOR, branches=[org["head"]])
