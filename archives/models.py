"""Credit file custody (domain.md "Credit file custody", domain-research.md §8): the per-product
checklist, one credit file per loan with its documents, and the append-only custody register."""

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loanops.core.models import BaseModel


class Level(models.IntegerChoices):
    ONE = 1, _("Level 1 (vault)")
    TWO = 2, _("Level 2 (archive)")


# The contract elements the officer confirms before the check (domain-research.md §8.2):
# element name → (CreditFile field, label).
CONTRACT_ELEMENTS = {
    "amount": ("contract_amount", _("Amount")),
    "rate": ("contract_rate", _("Rate")),
    "term": ("contract_term", _("Term")),
    "signatures": ("contract_signatures", _("Signatures")),
    "dates": ("contract_dates", _("Dates")),
    "seal": ("contract_seal", _("Seal")),
    "collateral": ("contract_collateral", _("Collateral description")),
}


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class ChecklistItem(BaseModel):
    """One document a credit file must hold. `product` empty: the default checklist, used for
    every product without its own items."""

    product = models.ForeignKey(
        "loans.Product",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="checklist_items",
        verbose_name=_("product"),
    )
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices, default=Level.TWO)
    required = models.BooleanField(_("required"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["product_id", "order", "id"]
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        constraints = [
            models.UniqueConstraint(fields=["product", "code"], name="checklist_item_product_code"),
            models.UniqueConstraint(
                fields=["code"], condition=Q(product__isnull=True), name="checklist_item_default_code"
            ),
            models.CheckConstraint(condition=Q(level__in=[1, 2]), name="checklist_item_level_1_or_2"),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class CreditFile(BaseModel):
    class State(models.TextChoices):
        COLLECTING = "collecting", _("Collecting")
        OFFICER_CHECKED = "officer_checked", _("Checked by the officer")
        HANDOFF_PENDING = "handoff_pending", _("Handoff pending")
        ARCHIVED = "archived", _("Archived")
        ON_LOAN = "on_loan", _("On loan")
        RELEASED = "released", _("Released")
        CLOSED_ARCHIVE = "closed_archive", _("Closed archive")
        INCIDENT = "incident", _("Incident")

    BRANCH_FIELD = "loan__branch"

    loan = models.OneToOneField(
        "loans.Loan", on_delete=models.PROTECT, related_name="credit_file", verbose_name=_("loan")
    )
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.COLLECTING)
    contract_amount = models.BooleanField(_("amount confirmed"), default=False)
    contract_rate = models.BooleanField(_("rate confirmed"), default=False)
    contract_term = models.BooleanField(_("term confirmed"), default=False)
    contract_signatures = models.BooleanField(_("signatures confirmed"), default=False)
    contract_dates = models.BooleanField(_("dates confirmed"), default=False)
    contract_seal = models.BooleanField(_("seal confirmed"), default=False)
    contract_collateral = models.BooleanField(_("collateral description confirmed"), default=False)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    handoff_submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    handoff_submitted_at = models.DateTimeField(_("handoff submitted at"), null=True, blank=True)
    handoff_accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    handed_off_on = models.DateField(_("handed off on"), null=True, blank=True)
    defects = models.TextField(_("defects found at the last rejected handoff"), blank=True)
    flagged_late = models.BooleanField(_("not handed off in time"), default=False)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("credit file")
        verbose_name_plural = _("credit files")
        indexes = [
            models.Index(fields=["state", "id"], name="credit_file_state"),
            # Used by the nightly step (archives.open_missing): files not handed off yet, not flagged.
            models.Index(
                fields=["loan"],
                condition=Q(flagged_late=False, handed_off_on__isnull=True),
                name="credit_file_not_handed_off",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.id} · {self.loan_id}"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class FileDocument(BaseModel):
    BRANCH_FIELD = "file__loan__branch"

    file = models.ForeignKey(CreditFile, on_delete=models.PROTECT, related_name="documents")
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    required = models.BooleanField(_("required"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    present = models.BooleanField(_("present"), default=False)
    pages = models.PositiveIntegerField(_("pages"), default=0)
    # Where the paper is: empty while the officer collects; "VAULT/ROOM1/CAB2/SHELF3/BOX4" or "ARCHIVE/…".
    location = models.CharField(_("location"), max_length=200, blank=True)
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("holder"),
    )
    # A document produced by the system (an inspection report's signed PDF, …) keeps its file here.
    attachment = models.FileField(_("attachment"), upload_to="credit-files/%Y/%m/", blank=True)

    class Meta:
        ordering = ["file_id", "order", "id"]
        verbose_name = _("file document")
        verbose_name_plural = _("file documents")
        constraints = [
            models.UniqueConstraint(fields=["file", "code"], name="file_document_once_per_file"),
            models.CheckConstraint(condition=Q(level__in=[1, 2]), name="file_document_level_1_or_2"),
        ]

    def __str__(self) -> str:
        return f"{self.file_id} · {self.code}"


class CustodyEvent(models.Model):
    """Append-only custody register: every movement of a file or document, for ever. A database
    trigger (migration 0003) refuses UPDATE and DELETE through any path."""

    class Kind(models.TextChoices):
        COLLECTED = "collected", _("Document collected")
        UNCOLLECTED = "uncollected", _("Document marked missing")
        CHECKED = "checked", _("Checked by the officer")
        HANDOFF_SUBMITTED = "handoff_submitted", _("Handoff submitted")
        HANDOFF_REJECTED = "handoff_rejected", _("Handoff rejected")
        HANDOFF_ACCEPTED = "handoff_accepted", _("Handoff accepted")
        STORED = "stored", _("Document stored")
        FILED = "filed", _("Document filed by the system")

    BRANCH_FIELD = "file__loan__branch"

    file = models.ForeignKey(CreditFile, on_delete=models.PROTECT, related_name="custody_events")
    document = models.ForeignKey(
        FileDocument, on_delete=models.PROTECT, null=True, blank=True, related_name="custody_events"
    )
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    from_location = models.CharField(_("from location"), max_length=200, blank=True)
    to_location = models.CharField(_("to location"), max_length=200, blank=True)
    from_holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    at = models.DateTimeField(_("at"))
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("custody event")
        verbose_name_plural = _("custody events")
        indexes = [models.Index(fields=["file", "at"], name="custody_event_file_at")]

    def __str__(self) -> str:
        return f"{self.file_id} · {self.kind} · {self.at:%Y-%m-%d %H:%M}"
