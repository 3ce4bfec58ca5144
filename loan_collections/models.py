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
