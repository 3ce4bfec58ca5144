import pytest

from loanops.org.models import Role
from loanops.org.tests.factories import UserFactory


@pytest.fixture
def default_checklist(db):
    """Transactional tests elsewhere flush every table: put the default checklist back."""
    from archives.checklist import install_default_checklist
    from archives.models import ChecklistItem

    install_default_checklist(ChecklistItem)


@pytest.fixture
def admin(org):
    return UserFactory(username="root", role=Role.ADMIN)


@pytest.fixture
def archivist(org):
    """The archivist of branch A: receives level-2 documents."""
    return UserFactory(username="archie", role=Role.ARCHIVIST, branches=[org["a"]])


@pytest.fixture
def loans_ab(admin, default_checklist):
    from archives.tests.helpers import make_loan

    return make_loan("L-A", admin=admin), make_loan("L-B", admin=admin, branch="BR-B")


@pytest.fixture
def file_a(loans_ab):
    return loans_ab[0].credit_file


@pytest.fixture
def file_b(loans_ab):
    return loans_ab[1].credit_file
