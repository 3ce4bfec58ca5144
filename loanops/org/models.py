"""The organisation (branch tree) and the people who work in it."""

import pghistory
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from loanops.core.models import BaseModel

code_validator = RegexValidator(r"^[A-Za-z0-9_.-]{1,20}$", _("Use 1–20 letters, digits, '.', '_' or '-'."))


class Role(models.TextChoices):
    CREDIT_OFFICER = "credit_officer", _("Credit officer")
    COLLECTOR = "collector", _("Collector")
    ARCHIVIST = "archivist", _("Archivist")
    VAULT_CUSTODIAN = "vault_custodian", _("Vault custodian")
    CREDIT_HEAD = "credit_head", _("Credit department head")
    BRANCH_MANAGER = "branch_manager", _("Branch manager")
    RISK = "risk", _("Head-office risk")
    AUDITOR = "auditor", _("Auditor")
    ADMIN = "admin", _("Administrator")
    API_CLIENT = "api_client", _("API client")


# Head-office roles see every branch whatever their memberships.
HEAD_OFFICE_ROLES = frozenset({Role.RISK, Role.AUDITOR, Role.ADMIN})
READ_ONLY_ROLES = frozenset({Role.AUDITOR})


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Branch(BaseModel):
    """A unit of the jurisdiction tree: head office → institutions → branches.

    `path` is the chain of codes from the root ("HO/NORTE/BR01/"); descendants share its prefix.
    """

    class Kind(models.TextChoices):
        HEAD_OFFICE = "head_office", _("Head office")
        INSTITUTION = "institution", _("Institution")
        BRANCH = "branch", _("Branch")

    BRANCH_FIELD = ""  # scoping: a branch is its own branch

    code = models.CharField(_("code"), max_length=20, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=200)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    path = models.CharField(max_length=500, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["path"]
        verbose_name = _("branch")
        verbose_name_plural = _("branches")
        indexes = [models.Index(fields=["path"], name="branch_path", opclasses=["varchar_pattern_ops"])]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    @property
    def kind(self) -> str:
        return [self.Kind.HEAD_OFFICE, self.Kind.INSTITUTION][self.depth] if self.depth < 2 else self.Kind.BRANCH

    @property
    def institution_code(self) -> str:
        """The institution this unit reports under (itself for the top two levels)."""
        codes = self.path.strip("/").split("/")
        return codes[1] if len(codes) > 1 else codes[0]


@pghistory.track(
    pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(), exclude=["password", "last_login"]
)
class User(AbstractUser):
    role = models.CharField(_("role"), max_length=30, choices=Role.choices, default=Role.CREDIT_OFFICER)
    branches = models.ManyToManyField(Branch, blank=True, related_name="members", verbose_name=_("branches"))
    language = models.CharField(_("language"), max_length=8, blank=True, default="")
    phone = models.CharField(_("phone"), max_length=40, blank=True)

    BRANCH_FIELD = "branches"

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def sees_all_branches(self) -> bool:
        return self.is_superuser or self.role in HEAD_OFFICE_ROLES

    @property
    def is_back_office(self) -> bool:
        """A person working in the pages (API clients use the API only)."""
        return self.role != Role.API_CLIENT

    @property
    def is_read_only(self) -> bool:
        return self.role in READ_ONLY_ROLES
