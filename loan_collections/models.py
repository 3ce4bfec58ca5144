"""Collection cases: one open case per overdue loan, its stage on the escalation ladder
(domain.md "Collections"), the append-only stage history and the actions each stage creates."""

import pghistory
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loanops.core.models import BaseModel


class Stage(models.TextChoices):
    PHONE_REMINDER = "phone_reminder", _("Phone reminder")
    FIRST_LETTER = "first_letter", _("First letter")
    SECOND_LETTER = "second_letter", _("Second letter")
    DEALER_ADVANCE_REQUEST = "dealer_advance_request", _("Dealer advance request")
    FINAL_DEMAND = "final_demand", _("Final demand")
    ENFORCEMENT = "enforcement", _("Enforcement")
    CURE_MONITORING = "cure_monitoring", _("Cure monitoring")


class ClosureReason(models.TextChoices):
    PAID_OFF = "paid_off", _("Loan paid off or closed")
    CURED = "cured", _("Cured (30 clean days)")
    GUARANTOR_SETTLED = "guarantor_settled", _("Settled by the dealer or insurer")
    WRITE_OFF_CLOSED = "write_off_closed", _("Write-off closed")


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class CollectionCase(BaseModel):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    BRANCH_FIELD = "loan__branch"

    loan = models.ForeignKey(
        "loans.Loan", on_delete=models.PROTECT, related_name="collection_cases", verbose_name=_("loan")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    stage = models.CharField(_("stage"), max_length=30, choices=Stage.choices)
    stage_since = models.DateField(_("in stage since"))
    opened_on = models.DateField(_("opened on"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    collector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="collection_cases",
        verbose_name=_("collector"),
    )
    enforcement_since = models.DateField(_("in enforcement since"), null=True, blank=True)
    cure_started_on = models.DateField(_("cure monitoring since"), null=True, blank=True)
    broken_promises = models.PositiveSmallIntegerField(_("broken promises"), default=0, db_default=0)
    closure_reason = models.CharField(
        _("closure reason"), max_length=20, choices=ClosureReason.choices, blank=True, default="", db_default=""
    )

    class Meta:
        ordering = ["-opened_on", "-id"]
        verbose_name = _("collection case")
        verbose_name_plural = _("collection cases")
        constraints = [
            models.UniqueConstraint(fields=["loan"], condition=Q(status="open"), name="case_one_open_per_loan"),
            models.CheckConstraint(
                condition=Q(status="open", closed_on__isnull=True) | Q(status="closed", closed_on__isnull=False),
                name="case_closed_on_iff_closed",
            ),
        ]
        indexes = [
            # Used by the nightly step (collections.cases): the open cases of the portfolio.
            models.Index(fields=["loan"], condition=Q(status="open"), name="case_open_loan"),
            models.Index(fields=["collector", "status"], name="case_collector_status"),
            models.Index(fields=["stage", "status"], name="case_stage_status"),
        ]

    def __str__(self) -> str:
        return f"#{self.id} · {self.loan_id}"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class CaseStageChange(models.Model):
    """Append-only: every stage a case entered, when, why and by whom (empty: the nightly step)."""

    class Reason(models.TextChoices):
        OPENED = "opened", _("Case opened")
        LADDER = "ladder", _("Required stage changed")
        CURED = "cured", _("Days past due back to 0")
        RELAPSED = "relapsed", _("Overdue again during cure monitoring")
        RELEASED = "released", _("Released from enforcement by a supervisor")

    BRANCH_FIELD = "case__loan__branch"

    case = models.ForeignKey(CollectionCase, on_delete=models.PROTECT, related_name="stage_changes")
    from_stage = models.CharField(_("from stage"), max_length=30, choices=Stage.choices, blank=True)
    to_stage = models.CharField(_("to stage"), max_length=30, choices=Stage.choices)
    on = models.DateField(_("on"))
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)
    # Ladder stages passed over when several thresholds were crossed at once (only the highest is entered).
    skipped_stages = ArrayField(models.CharField(max_length=30), default=list, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["on", "id"]
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        constraints = [models.UniqueConstraint(fields=["case", "to_stage", "on"], name="stage_change_once_a_day")]


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class CaseAction(BaseModel):
    """What entering a stage asks for. Letters and PDFs come later: here the action is recorded."""

    class Kind(models.TextChoices):
        CALL_TASK = "call_task", _("Call task")
        LETTER_REQUEST = "letter_request", _("Letter request")
        DEALER_ADVANCE_NOTICE = "dealer_advance_notice", _("Dealer advance notice")
        ENFORCEMENT_TRACK = "enforcement_track", _("Enforcement track")

    class Track(models.TextChoices):
        NONE = "", _("—")
        LEGAL = "legal", _("Legal action")
        DEALER_GUARANTEE = "dealer_guarantee", _("Dealer guarantee call")
        INSURER_CLAIM = "insurer_claim", _("Insurer claim")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DONE = "done", _("Done")

    BRANCH_FIELD = "case__loan__branch"

    case = models.ForeignKey(CollectionCase, on_delete=models.PROTECT, related_name="actions")
    stage = models.CharField(_("stage"), max_length=30, choices=Stage.choices)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    # Enforcement opens one track each (legal, dealer guarantee, insurer claim); empty otherwise.
    track = models.CharField(_("track"), max_length=20, choices=Track.choices, blank=True, default="")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    due_on = models.DateField(_("due on"))

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = _("case action")
        verbose_name_plural = _("case actions")
        constraints = [
            models.UniqueConstraint(fields=["case", "stage", "kind", "track"], name="case_action_once_per_stage"),
        ]


# --- the collector's day: contacts and promises to pay ------------------------------------------


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class ContactLog(BaseModel):
    """One contact attempt with the borrower or a guarantor (domain.md: only they are contacted,
    between 08:00 and 21:00 bank time). Kept for ever; corrections are new rows."""

    class Channel(models.TextChoices):
        CALL = "call", _("Phone call")
        VISIT = "visit", _("Visit")
        SMS = "sms", _("SMS")
        LETTER = "letter", _("Letter")
        EMAIL = "email", _("Email")

    class Party(models.TextChoices):
        BORROWER = "borrower", _("Borrower")
        GUARANTOR = "guarantor", _("Guarantor")

    class Outcome(models.TextChoices):
        PROMISE_TO_PAY = "promise_to_pay", _("Promise to pay")
        PAID = "paid", _("Says already paid")
        CALL_BACK = "call_back", _("Asked to call back")
        NO_ANSWER = "no_answer", _("No answer")
        LEFT_MESSAGE = "left_message", _("Message left")
        WRONG_NUMBER = "wrong_number", _("Wrong number")
        REFUSED = "refused", _("Refuses to pay")
        DISPUTE = "dispute", _("Disputes the debt")
        HARDSHIP = "hardship", _("Financial hardship")
        NOT_AT_ADDRESS = "not_at_address", _("Not at the address")
        DELIVERED = "delivered", _("Delivered")

    BRANCH_FIELD = "case__loan__branch"

    case = models.ForeignKey(CollectionCase, on_delete=models.PROTECT, related_name="contacts")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    party = models.CharField(_("contacted party"), max_length=10, choices=Party.choices)
    guarantor = models.ForeignKey(
        "loans.Guarantor",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("guarantor"),
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)
    notes = models.TextField(_("notes"), blank=True)
    contacted_at = models.DateTimeField(_("contacted at"))
    follow_up_on = models.DateField(_("follow up on"), null=True, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))

    class Meta:
        ordering = ["-contacted_at", "-id"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            models.CheckConstraint(
                condition=Q(party="guarantor", guarantor__isnull=False) | Q(party="borrower", guarantor__isnull=True),
                name="contact_guarantor_iff_guarantor_party",
            ),
        ]
        indexes = [
            models.Index(fields=["case", "-contacted_at"], name="contact_case_at"),
            models.Index(fields=["by", "contacted_at"], name="contact_by_at"),
            models.Index(fields=["follow_up_on"], condition=Q(follow_up_on__isnull=False), name="contact_follow_up"),
        ]


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class PromiseToPay(BaseModel):
    """domain.md: amount and date (≤ 30 days ahead); while active, escalation below enforcement is
    frozen; kept if payments by date + 1 day cover the amount, else broken and the case escalates at
    once; after 2 broken promises a new one needs a supervisor (state awaiting_approval)."""

    class State(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", _("Awaiting a supervisor")
        ACTIVE = "active", _("Active")
        KEPT = "kept", _("Kept")
        BROKEN = "broken", _("Broken")
        CANCELLED = "cancelled", _("Cancelled")

    BRANCH_FIELD = "case__loan__branch"

    case = models.ForeignKey(CollectionCase, on_delete=models.PROTECT, related_name="promises")
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2)
    recorded_on = models.DateField(_("recorded on"))
    promised_date = models.DateField(_("promised date"))
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.ACTIVE)
    resolved_on = models.DateField(_("resolved on"), null=True, blank=True)
    paid_amount = models.DecimalField(_("paid towards it"), max_digits=18, decimal_places=2, default=0)
    contact = models.ForeignKey(ContactLog, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        ordering = ["-recorded_on", "-id"]
        verbose_name = _("promise to pay")
        verbose_name_plural = _("promises to pay")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="promise_amount_positive"),
            models.CheckConstraint(condition=Q(promised_date__gte=models.F("recorded_on")), name="promise_not_past"),
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(state__in=["active", "awaiting_approval"]),
                name="promise_one_open_per_case",
            ),
        ]
        indexes = [models.Index(fields=["promised_date"], condition=Q(state="active"), name="promise_active_date")]


# --- enforcement tracks and dealer advances ------------------------------------------------------


class TrackState(models.TextChoices):
    # legal
    PREPARING = "preparing", _("Preparing")
    FILED = "filed", _("Filed")
    PRESERVATION = "preservation", _("Asset preservation")
    JUDGMENT = "judgment", _("Judgment")
    ENFORCEMENT = "enforcement", _("Enforcement proceeding")
    CONCLUDED_RECOVERED = "concluded_recovered", _("Concluded: recovered")
    CONCLUDED_TERMINATED = "concluded_terminated", _("Concluded: enforcement terminated")
    # dealer guarantee call
    NOTICE_SENT = "notice_sent", _("Notice sent")
    PAID = "paid", _("Paid")
    PARTLY_PAID = "partly_paid", _("Partly paid")
    REFUSED = "refused", _("Refused")
    # insurer claim (FILED shared with legal)
    DOCUMENTS_REQUESTED = "documents_requested", _("Documents requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class EnforcementTrack(BaseModel):
    """One track of an enforcement file: legal action (against the borrower or the dealer), the
    dealer guarantee call, the insurer claim. Each moves through its own states (domain-research §6.2)."""

    class Kind(models.TextChoices):
        LEGAL = "legal", _("Legal action")
        DEALER_GUARANTEE = "dealer_guarantee", _("Dealer guarantee call")
        INSURER_CLAIM = "insurer_claim", _("Insurer claim")

    class Against(models.TextChoices):
        BORROWER = "borrower", _("Borrower")
        DEALER = "dealer", _("Dealer")
        INSURER = "insurer", _("Insurer")

    BRANCH_FIELD = "case__loan__branch"

    case = models.ForeignKey(CollectionCase, on_delete=models.PROTECT, related_name="tracks")
    kind = models.CharField(_("track"), max_length=20, choices=Kind.choices)
    against = models.CharField(_("against"), max_length=10, choices=Against.choices)
    state = models.CharField(_("state"), max_length=25, choices=TrackState.choices)
    opened_on = models.DateField(_("opened on"))
    deadline_on = models.DateField(_("deadline"), null=True, blank=True)
    amount_claimed = models.DecimalField(_("amount claimed"), max_digits=18, decimal_places=2, default=0)
    amount_recovered = models.DecimalField(_("amount recovered"), max_digits=18, decimal_places=2, default=0)
    reference = models.CharField(_("reference (court file, claim number)"), max_length=100, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)

    class Meta:
        ordering = ["case_id", "opened_on", "id"]
        verbose_name = _("enforcement track")
        verbose_name_plural = _("enforcement tracks")
        constraints = [
            models.UniqueConstraint(fields=["case", "kind", "against"], name="track_once_per_case"),
            models.CheckConstraint(condition=Q(amount_claimed__gte=0), name="track_claimed_not_negative"),
            models.CheckConstraint(condition=Q(amount_recovered__gte=0), name="track_recovered_not_negative"),
        ]


class TrackEvent(models.Model):
    """Append-only history of a track's states (who, when, why, money involved)."""

    BRANCH_FIELD = "track__case__loan__branch"

    track = models.ForeignKey(EnforcementTrack, on_delete=models.PROTECT, related_name="state_events")
    from_state = models.CharField(_("from"), max_length=25, choices=TrackState.choices, blank=True)
    to_state = models.CharField(_("to"), max_length=25, choices=TrackState.choices)
    on = models.DateField(_("on"))
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2, null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["on", "id"]
        verbose_name = _("track event")
        verbose_name_plural = _("track events")


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class DealerAdvanceRequest(BaseModel):
    """The dealer is asked to advance the overdue amount within a deadline (5 days by default);
    the dealer's money arrives through the payments API with payer = dealer."""

    class State(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        PAID = "paid", _("Paid")
        PARTLY_PAID = "partly_paid", _("Partly paid")
        UNPAID = "unpaid", _("Not paid by the deadline")

    BRANCH_FIELD = "case__loan__branch"

    case = models.ForeignKey(CollectionCase, on_delete=models.PROTECT, related_name="dealer_advances")
    dealer = models.ForeignKey("loans.Dealer", on_delete=models.PROTECT, related_name="advance_requests")
    requested_on = models.DateField(_("requested on"))
    deadline_on = models.DateField(_("deadline"))
    amount_requested = models.DecimalField(_("amount requested"), max_digits=18, decimal_places=2)
    amount_paid = models.DecimalField(_("amount paid"), max_digits=18, decimal_places=2, default=0)
    state = models.CharField(_("state"), max_length=15, choices=State.choices, default=State.REQUESTED)
    resolved_on = models.DateField(_("resolved on"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_on", "-id"]
        verbose_name = _("dealer advance request")
        verbose_name_plural = _("dealer advance requests")
        constraints = [
            models.UniqueConstraint(fields=["case", "requested_on"], name="dealer_advance_once_a_day"),
            models.CheckConstraint(condition=Q(amount_requested__gte=0), name="dealer_advance_amount_not_negative"),
        ]


# --- write-off ---------------------------------------------------------------------------------


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class WriteOff(BaseModel):
    """proposal with evidence → branch review → risk review → approval by amount band → posted →
    recovery → closed (domain.md; domain-research §10.2). Four-eyes: the proposer never approves."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        BRANCH_REVIEW = "branch_review", _("Branch review")
        RISK_REVIEW = "risk_review", _("Risk review")
        APPROVAL = "approval", _("Awaiting approval")
        APPROVED = "approved", _("Approved")
        POSTED = "posted", _("Posted (recovery continues)")
        CLOSED = "closed", _("Closed")
        REJECTED = "rejected", _("Rejected")

    class Band(models.TextChoices):
        BRANCH = "branch", _("Branch committee")
        HEAD_OFFICE = "head_office", _("Head-office risk committee")
        BOARD = "board", _("Board")

    class Ground(models.TextChoices):
        ENFORCEMENT_TERMINATED = "enforcement_terminated", _("Litigation concluded, enforcement terminated")
        NO_ASSETS = "no_assets", _("No enforceable assets")
        BANKRUPT_OR_DECEASED = "bankrupt_or_deceased", _("Borrower bankrupt, dissolved or deceased")
        UNINSURED_LOSS = "uninsured_loss", _("Catastrophic loss not covered by insurance")
        SMALL_BALANCE = "small_balance", _("Small balance after the recourse period")
        OTHER = "other", _("Other (explained in the evidence)")

    BRANCH_FIELD = "loan__branch"

    loan = models.ForeignKey("loans.Loan", on_delete=models.PROTECT, related_name="write_offs")
    case = models.ForeignKey(CollectionCase, on_delete=models.PROTECT, null=True, blank=True, related_name="write_offs")
    state = models.CharField(_("state"), max_length=15, choices=State.choices, default=State.DRAFT)
    ground = models.CharField(_("ground"), max_length=30, choices=Ground.choices)
    evidence = models.TextField(_("evidence"))
    principal = models.DecimalField(_("principal written off"), max_digits=18, decimal_places=2)
    interest = models.DecimalField(_("interest written off"), max_digits=18, decimal_places=2, default=0)
    fees = models.DecimalField(_("fees written off"), max_digits=18, decimal_places=2, default=0)
    band = models.CharField(_("approval band"), max_length=15, choices=Band.choices)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_on = models.DateField(_("proposed on"))
    posted_on = models.DateField(_("posted on"), null=True, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    accountability_review = models.TextField(_("accountability review"), blank=True)

    class Meta:
        ordering = ["-proposed_on", "-id"]
        verbose_name = _("write-off")
        verbose_name_plural = _("write-offs")
        constraints = [
            models.CheckConstraint(
                condition=Q(principal__gte=0, interest__gte=0, fees__gte=0), name="writeoff_amounts"
            ),
            models.UniqueConstraint(
                fields=["loan"], condition=~Q(state__in=["rejected", "closed"]), name="writeoff_one_live_per_loan"
            ),
        ]

    @property
    def total(self):
        return self.principal + self.interest + self.fees


class WriteOffStep(models.Model):
    """Append-only: every step of a write-off with who took it (four-eyes is checked against these)."""

    BRANCH_FIELD = "write_off__loan__branch"

    write_off = models.ForeignKey(WriteOff, on_delete=models.PROTECT, related_name="steps")
    from_state = models.CharField(_("from"), max_length=15, choices=WriteOff.State.choices, blank=True)
    to_state = models.CharField(_("to"), max_length=15, choices=WriteOff.State.choices)
    action = models.CharField(_("action"), max_length=20)
    comment = models.TextField(_("comment"), blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("write-off step")
        verbose_name_plural = _("write-off steps")


# --- letters (domain.md "Collections"; domain-research §6.3) ------------------------------------


class LetterType(models.TextChoices):
    REMINDER = "reminder", _("Reminder")
    FIRST_NOTICE = "first_notice", _("First notice")
    SECOND_NOTICE = "second_notice", _("Second notice")
    FINAL_DEMAND = "final_demand", _("Final demand")
    DEALER_ADVANCE_NOTICE = "dealer_advance_notice", _("Dealer advance notice")
    GUARANTEE_CALL = "guarantee_call", _("Guarantee call")
    INSURER_CLAIM_NOTICE = "insurer_claim_notice", _("Insurer claim notice")
    ACCELERATION_NOTICE = "acceleration_notice", _("Acceleration notice")


class LetterRecipient(models.TextChoices):
    BORROWER = "borrower", _("Borrower")
    DEALER = "dealer", _("Dealer")
    INSURER = "insurer", _("Insurer")


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class LetterTemplate(BaseModel):
    """The wording of one letter type in one language, edited by an administrator (admin site).
    The figures, dates and parties are filled in by the letter layout; these texts are the prose."""

    letter_type = models.CharField(_("letter type"), max_length=30, choices=LetterType.choices)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    title = models.CharField(_("title"), max_length=200)
    opening = models.TextField(_("opening paragraph"))
    consequences = models.TextField(_("consequences"), blank=True)
    rights = models.TextField(_("rights and dispute channel"))
    legal_basis = models.TextField(_("legal basis (contract clauses)"), blank=True)
    payment_channels = models.TextField(_("payment channels"))
    closing = models.TextField(_("closing"), blank=True)

    class Meta:
        ordering = ["letter_type", "language"]
        verbose_name = _("letter wording")
        verbose_name_plural = _("letter wordings")
        constraints = [models.UniqueConstraint(fields=["letter_type", "language"], name="letter_template_type_lang")]

    def __str__(self) -> str:
        return f"{self.get_letter_type_display()} ({self.language})"


class LetterSequence(models.Model):
    """Gapless letter numbers per branch and year (`BR-A-2026-000123`): the row is locked by
    `UPDATE … RETURNING` in the transaction that gives a letter its number."""

    branch = models.ForeignKey("org.Branch", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["branch", "year"], name="letter_sequence_branch_year")]


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class PrintBatch(BaseModel):
    """One PDF with a branch's rendered letters of a day, to print and post."""

    class State(models.TextChoices):
        PENDING = "pending", _("Being prepared")
        RENDERED = "rendered", _("Ready")

    BRANCH_FIELD = "branch"

    branch = models.ForeignKey("org.Branch", on_delete=models.PROTECT, related_name="+", verbose_name=_("branch"))
    on_date = models.DateField(_("letters issued on"))
    sequence = models.PositiveSmallIntegerField(_("batch of the day"), default=1)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    letter_count = models.PositiveIntegerField(_("letters"), default=0)
    pdf = models.FileField(_("PDF"), upload_to="letters/batches/", blank=True)
    rendered_at = models.DateTimeField(_("rendered at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-on_date", "branch_id", "-sequence"]
        verbose_name = _("print batch")
        verbose_name_plural = _("print batches")
        constraints = [
            models.UniqueConstraint(fields=["branch", "on_date", "sequence"], name="print_batch_branch_day_seq")
        ]
        # Used by the letters sweeper: batches still to render.
        indexes = [models.Index(fields=["id"], condition=Q(state="pending"), name="print_batch_pending")]


@pghistory.track(
    pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(), exclude=["snapshot", "updated_at"]
)
class Letter(BaseModel):
    """A collection letter. Rows are an outbox: written pending (by the nightly step in the same
    transaction as the stage change, or by a collector's ad-hoc request), numbered and frozen
    (`snapshot`) when a worker claims them, then rendered once into `pdf`."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        RENDERED = "rendered", _("Rendered")
        FAILED = "failed", _("Failed")

    class Origin(models.TextChoices):
        LADDER = "ladder", _("Stage entry")
        AD_HOC = "ad_hoc", _("Ad hoc")

    BRANCH_FIELD = "branch"

    case = models.ForeignKey(CollectionCase, on_delete=models.PROTECT, related_name="letters")
    branch = models.ForeignKey("org.Branch", on_delete=models.PROTECT, related_name="+", verbose_name=_("branch"))
    stage = models.CharField(_("stage"), max_length=30, choices=Stage.choices)
    letter_type = models.CharField(_("letter type"), max_length=30, choices=LetterType.choices)
    recipient = models.CharField(_("recipient"), max_length=10, choices=LetterRecipient.choices)
    origin = models.CharField(_("origin"), max_length=10, choices=Origin.choices, default=Origin.LADDER)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    requested_on = models.DateField(_("requested on"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    number = models.CharField(_("number"), max_length=40, null=True, blank=True, unique=True)
    issued_on = models.DateField(_("issued on"), null=True, blank=True)
    deadline_on = models.DateField(_("payment deadline"), null=True, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    snapshot = models.JSONField(_("data at issue"), default=dict, blank=True)
    pdf = models.FileField(_("PDF"), upload_to="letters/", blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    rendered_at = models.DateTimeField(_("rendered at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("render attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    print_batch = models.ForeignKey(PrintBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="letters")
    # A documented demand interrupts the limitation period: set when delivery is evidenced.
    limitation_expiry = models.DateField(_("limitation period expires"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_on", "-id"]
        verbose_name = _("letter")
        verbose_name_plural = _("letters")
        constraints = [
            # never twice for the same case and stage (nightly reruns, beat twice, stepping down and up again)
            models.UniqueConstraint(
                fields=["case", "stage", "letter_type"], condition=Q(origin="ladder"), name="letter_once_per_stage"
            ),
            models.CheckConstraint(
                condition=~Q(state="rendered") | (Q(number__isnull=False) & ~Q(pdf="")), name="letter_rendered_has_pdf"
            ),
        ]
        indexes = [
            # Used by the render workers and the sweeper: the outbox.
            models.Index(fields=["id"], condition=Q(state="pending"), name="letter_pending"),
            models.Index(fields=["branch", "issued_on"], name="letter_branch_issued"),
            models.Index(fields=["case", "requested_on"], name="letter_case_requested"),
        ]

    def __str__(self) -> str:
        return self.number or f"{self.get_letter_type_display()} #{self.id}"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class DeliveryEvidence(BaseModel):
    """How and when a letter reached its recipient (append-only by use: corrections are new rows)."""

    class Channel(models.TextChoices):
        REGISTERED_MAIL = "registered_mail", _("Registered mail")
        POST = "post", _("Ordinary post")
        COURIER = "courier", _("Courier")
        HAND = "hand", _("Hand delivery")
        EMAIL = "email", _("E-mail")
        NOTARY = "notary", _("Notarial service")

    class Acknowledgement(models.TextChoices):
        SIGNED = "signed", _("Signed acknowledgement of receipt")
        DELIVERED = "delivered", _("Delivered, no signature")
        REFUSED = "refused", _("Refused by the recipient")
        RETURNED = "returned", _("Returned undelivered")
        PENDING = "pending", _("Awaiting confirmation")

    BRANCH_FIELD = "letter__branch"

    letter = models.ForeignKey(Letter, on_delete=models.PROTECT, related_name="deliveries")
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    delivered_on = models.DateField(_("date"))
    recipient_name = models.CharField(_("received by"), max_length=200)
    tracking_number = models.CharField(_("tracking number"), max_length=100, blank=True)
    acknowledgement = models.CharField(_("acknowledgement"), max_length=20, choices=Acknowledgement.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-delivered_on", "-id"]
        verbose_name = _("delivery evidence")
        verbose_name_plural = _("delivery evidence")
