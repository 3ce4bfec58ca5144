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


class Area(models.TextChoices):
    VAULT = "VAULT", _("Vault")
    ARCHIVE = "ARCHIVE", _("Archive room")
    CLOSED = "CLOSED", _("Closed archive")


# Where each level is kept while the loan runs (domain-research.md §8.1).
AREA_FOR_LEVEL = {Level.ONE: Area.VAULT, Level.TWO: Area.ARCHIVE}


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class StorageLocation(BaseModel):
    """A box on a shelf of a cabinet in a room of the vault, the archive room or the closed
    archive of one branch. `path` ("VAULT/ROOM1/CAB2/SHELF3/BOX4") is what documents and custody
    events record as their location."""

    BRANCH_FIELD = "branch"

    branch = models.ForeignKey(
        "org.Branch", on_delete=models.PROTECT, related_name="storage_locations", verbose_name=_("branch")
    )
    area = models.CharField(_("area"), max_length=10, choices=Area.choices)
    room = models.CharField(_("room"), max_length=40)
    cabinet = models.CharField(_("cabinet"), max_length=40, blank=True)
    shelf = models.CharField(_("shelf"), max_length=40, blank=True)
    box = models.CharField(_("box"), max_length=40, blank=True)
    path = models.CharField(_("path"), max_length=200)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["branch_id", "path"]
        verbose_name = _("storage location")
        verbose_name_plural = _("storage locations")
        constraints = [models.UniqueConstraint(fields=["branch", "path"], name="storage_location_branch_path")]

    @staticmethod
    def build_path(area: str, *parts: str) -> str:
        return "/".join([area, *(part.strip().upper() for part in parts if part and part.strip())])

    def save(self, *args, **kwargs):
        self.path = self.build_path(self.area, self.room, self.cabinet, self.shelf, self.box)
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return self.path


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
    # The state an incident interrupted: resolving the last open incident goes back to it.
    state_before_incident = models.CharField(max_length=20, choices=State.choices, blank=True)
    released_on = models.DateField(_("level 1 released on"), null=True, blank=True)
    closed_on = models.DateField(_("moved to the closed archive on"), null=True, blank=True)
    retention_until = models.DateField(_("kept until"), null=True, blank=True)

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

    class Condition(models.TextChoices):
        OK = "ok", _("In order")
        LOST = "lost", _("Lost")
        DAMAGED = "damaged", _("Damaged")

    # Where the paper is now: empty while the officer collects or while someone holds it (on
    # loan, released); else the path of a storage location ("VAULT/ROOM1/CAB2/SHELF3/BOX4").
    location = models.CharField(_("location"), max_length=200, blank=True)
    # Its place in the vault / archive room, kept while it is out on loan.
    storage = models.ForeignKey(
        StorageLocation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="documents",
        verbose_name=_("storage location"),
    )
    condition = models.CharField(_("condition"), max_length=10, choices=Condition.choices, default=Condition.OK)
    released_on = models.DateField(_("released on"), null=True, blank=True)
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
        BORROW_REQUESTED = "borrow_requested", _("Borrowing requested")
        BORROW_APPROVED = "borrow_approved", _("Borrowing approved")
        BORROW_DECLINED = "borrow_declined", _("Borrowing declined")
        RELEASE_SIGNED = "release_signed", _("Release signed by a custodian")
        LENT = "lent", _("Document lent")
        RETURNED = "returned", _("Document returned")
        VIEWED = "viewed", _("Consulted on site")
        INCIDENT_OPENED = "incident_opened", _("Incident reported")
        INCIDENT_RESOLVED = "incident_resolved", _("Incident resolved")
        RECOVERED = "recovered", _("Document back in place")
        RELEASE_SIGNATURE = "release_signature", _("Release to the borrower signed")
        RELEASED = "released", _("Released to the borrower")
        CLOSED = "closed", _("Moved to the closed archive")

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


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class BorrowRequest(BaseModel):
    """Borrowing documents of an archived file (domain-research.md §8.3): level 2 needs one
    approval and goes for 10 days; level 1 needs two approvals from two people (neither the
    requester), a stated reason, two custodians logging the release, and goes for 3 days."""

    class State(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")
        ON_LOAN = "on_loan", _("On loan")
        RETURNED = "returned", _("Returned")

    class Purpose(models.TextChoices):
        AUDIT = "audit", _("Audit")
        INSPECTION = "inspection", _("Inspection")
        LITIGATION = "litigation", _("Litigation")
        OTHER = "other", _("Other")

    BRANCH_FIELD = "file__loan__branch"

    file = models.ForeignKey(CreditFile, on_delete=models.PROTECT, related_name="borrow_requests")
    documents = models.ManyToManyField(FileDocument, related_name="borrow_requests", verbose_name=_("documents"))
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    reason = models.TextField(_("reason"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    requested_return_on = models.DateField(_("return date asked for"))
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.REQUESTED)
    decline_reason = models.TextField(_("reason for declining"), blank=True)
    release_first_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    released_on = models.DateField(_("released on"), null=True, blank=True)
    return_due = models.DateField(_("return due"), null=True, blank=True)
    returned_on = models.DateField(_("returned on"), null=True, blank=True)
    returned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("borrowing request")
        verbose_name_plural = _("borrowing requests")
        constraints = [
            models.CheckConstraint(condition=Q(level__in=[1, 2]), name="borrow_request_level_1_or_2"),
            # One request out at a time per file.
            models.UniqueConstraint(
                fields=["file"], condition=Q(state="on_loan"), name="borrow_request_one_on_loan_per_file"
            ),
        ]
        indexes = [models.Index(fields=["return_due"], condition=Q(state="on_loan"), name="borrow_on_loan_due")]

    def __str__(self) -> str:
        return f"#{self.id} · {self.file_id} · {self.state}"

    def is_overdue(self, as_of) -> bool:
        return self.state == self.State.ON_LOAN and self.return_due is not None and as_of > self.return_due


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class BorrowApproval(BaseModel):
    BRANCH_FIELD = "request__file__loan__branch"

    request = models.ForeignKey(BorrowRequest, on_delete=models.PROTECT, related_name="approvals")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["id"]
        verbose_name = _("borrowing approval")
        verbose_name_plural = _("borrowing approvals")
        constraints = [models.UniqueConstraint(fields=["request", "approver"], name="borrow_approval_once")]


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Incident(BaseModel):
    """A lost or damaged document. An open incident puts the file in the `incident` state and
    blocks its release."""

    class Kind(models.TextChoices):
        LOST = "lost", _("Lost")
        DAMAGED = "damaged", _("Damaged")

    class Resolution(models.TextChoices):
        RECOVERED = "recovered", _("Recovered in good order")
        REPLACED = "replaced", _("Replaced by a certified copy")
        WRITTEN_OFF = "written_off", _("Written off as lost")

    BRANCH_FIELD = "file__loan__branch"

    file = models.ForeignKey(CreditFile, on_delete=models.PROTECT, related_name="incidents")
    document = models.ForeignKey(FileDocument, on_delete=models.PROTECT, related_name="incidents")
    borrow = models.ForeignKey(BorrowRequest, on_delete=models.PROTECT, null=True, blank=True, related_name="incidents")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    description = models.TextField(_("description"))
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    resolution = models.CharField(_("resolution"), max_length=20, choices=Resolution.choices, blank=True)
    resolution_note = models.TextField(_("resolution note"), blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("custody incident")
        verbose_name_plural = _("custody incidents")
        indexes = [models.Index(fields=["file"], condition=Q(resolved_at__isnull=True), name="incident_open")]

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class ReleaseSignature(BaseModel):
    """One of the three signatures releasing level-1 documents to the borrower on payoff."""

    class Party(models.TextChoices):
        BORROWER = "borrower", _("Borrower")
        OFFICER = "officer", _("Credit officer")
        CUSTODIAN = "custodian", _("Vault custodian")

    BRANCH_FIELD = "file__loan__branch"

    file = models.ForeignKey(CreditFile, on_delete=models.PROTECT, related_name="release_signatures")
    party = models.CharField(_("party"), max_length=10, choices=Party.choices)
    # Officer and custodian sign as themselves; the borrower's signature is witnessed by the user.
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    borrower_name = models.CharField(_("borrower's name"), max_length=200, blank=True)
    borrower_id_document = models.CharField(_("borrower's identity document"), max_length=60, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("release signature")
        verbose_name_plural = _("release signatures")
        constraints = [models.UniqueConstraint(fields=["file", "party"], name="release_signature_once")]


class CustodyAlert(BaseModel):
    """An alert of the nightly step `archives.custody_alerts`, shown in the app and sent by email:
    a file on loan past its return date (daily, to the borrower of the file and the archivists),
    or a file not handed off in time (once, to the branch head)."""

    class Kind(models.TextChoices):
        OVERDUE = "overdue", _("File on loan overdue")
        HANDOFF_LATE = "handoff_late", _("File not handed off in time")

    BRANCH_FIELD = "file__loan__branch"

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    file = models.ForeignKey(CreditFile, on_delete=models.PROTECT, related_name="alerts")
    borrow = models.ForeignKey(BorrowRequest, on_delete=models.PROTECT, null=True, blank=True, related_name="alerts")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="custody_alerts")
    alert_date = models.DateField(_("date"))
    emailed_at = models.DateTimeField(_("emailed at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        ordering = ["-alert_date", "-id"]
        verbose_name = _("custody alert")
        verbose_name_plural = _("custody alerts")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "file", "recipient", "alert_date"],
                condition=Q(kind="overdue"),
                name="custody_alert_overdue_daily",
            ),
            models.UniqueConstraint(
                fields=["kind", "file", "recipient"], condition=Q(kind="handoff_late"), name="custody_alert_late_once"
            ),
        ]
        indexes = [models.Index(fields=["recipient", "read_at"], name="custody_alert_recipient")]
