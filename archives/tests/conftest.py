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
def locations(org):
    """Branch A's vault box, archive-room boxes and closed-archive shelf; a vault box of branch B."""
    from archives.models import Area, StorageLocation

    def make(branch, area, room, cabinet="", shelf="", box=""):
        return StorageLocation.objects.create(
            branch=branch, area=area, room=room, cabinet=cabinet, shelf=shelf, box=box
        )

    return {
        "vault": make(org["a"], Area.VAULT, "ROOM1", "CAB2", "SHELF3", "BOX4"),
        "archive": make(org["a"], Area.ARCHIVE, "ROOM2", "", "SHELF1", "BOX9"),
        "archive_shelf": make(org["a"], Area.ARCHIVE, "ROOM2", "", "SHELF1"),
        "closed": make(org["a"], Area.CLOSED, "ROOM3", "", "SHELF1"),
        "vault_b": make(org["b"], Area.VAULT, "ROOM1", "CAB1"),
    }


@pytest.fixture
def file_a(loans_ab, locations):
    return loans_ab[0].credit_file


@pytest.fixture
def file_b(loans_ab):
    return loans_ab[1].credit_file


@pytest.fixture
def custodian(org):
    """Branch A's vault custodian (level 1)."""
    return UserFactory(username="vera", role=Role.VAULT_CUSTODIAN, branches=[org["a"]])


@pytest.fixture
def custodian2(org):
    """The second vault custodian: level-1 documents leave the vault with two."""
    return UserFactory(username="victor", role=Role.VAULT_CUSTODIAN, branches=[org["a"]], email="victor@example.com")


@pytest.fixture
def head(org):
    """Branch A's credit department head: the second approver."""
    return UserFactory(username="hector", role=Role.CREDIT_HEAD, branches=[org["a"]])
