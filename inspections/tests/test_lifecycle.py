"""The report's lifecycle and sign-off order, the review's effects, the signed PDF, attachments,
follow-up tasks and adverse events."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from archives.models import CreditFile, FileDocument
from inspections.models import FollowUpTask, Inspection, InspectionState, InspectionType, SignOff
from inspections.pdf import report_html
from inspections.services import inspections as svc
from inspections.tests.helpers import GOOD_REPORT, complete, night, on
from loanops.core.exceptions import InvalidTransition, PermissionDenied, ValidationFailed
from loanops.org.models import Role
from loanops.org.tests.factories import UserFactory
from loans.models import ClassificationOverride, Collateral

pytestmark = pytest.mark.django_db
DAY = date(2024, 2, 10)


@pytest.fixture
def first(loan):
    night(date(2024, 1, 15))
    return Inspection.objects.get(loan=loan, type=InspectionType.FIRST)


@pytest.fixture
def submitted(first, alice):
    with on(DAY):
        svc.inspection_start(inspection=first, acting_user=alice)
        svc.inspection_report_save(inspection=first, data=GOOD_REPORT, acting_user=alice)
        svc.inspection_submit(inspection=first, acting_user=alice)
    first.refresh_from_db()
    return first


def test_only_the_assigned_officer_starts_and_writes(first, charlie, bob):
    for user in (charlie, bob):
        with pytest.raises(PermissionDenied):
            svc.inspection_start(inspection=first, acting_user=user)


def test_submission_needs_the_written_analysis_and_suggestions(first, alice):
    svc.inspection_start(inspection=first, acting_user=alice)
    svc.inspection_report_save(inspection=first, data={"funds_use_ok": "true"}, acting_user=alice)
    with pytest.raises(ValidationFailed) as exc:
        svc.inspection_submit(inspection=first, acting_user=alice)
    assert {"analysis", "suggestions", "proposed_classification"} <= set(exc.value.extra)
    first.refresh_from_db()
    assert first.state == InspectionState.IN_PROGRESS


def test_bad_report_values_are_rejected_and_change_nothing(first, alice):
    svc.inspection_start(inspection=first, acting_user=alice)
    bad = {"collateral_estimated_value": "-5", "other_lenders_arrears_amount": "1.234", "funds_use_ok": "maybe",
           "proposed_classification": "excellent", "collateral_mileage": "lots", "analysis": "kept?"}  # fmt: skip
    with pytest.raises(ValidationFailed) as exc:
        svc.inspection_report_save(inspection=first, data=bad, acting_user=alice)
    assert set(exc.value.extra) == set(bad) - {"analysis"}
    first.refresh_from_db()
    assert first.analysis == ""


def test_no_acknowledgement_before_review(submitted, bob):
    with pytest.raises(InvalidTransition):
        svc.inspection_acknowledge(inspection=submitted, acting_user=bob)
    submitted.refresh_from_db()
    assert submitted.state == InspectionState.SUBMITTED


def test_only_a_credit_head_reviews_and_never_the_author(submitted, alice, bob, org, dave):
    with pytest.raises(PermissionDenied):
        svc.inspection_review(inspection=submitted, acting_user=bob)  # a manager
    with pytest.raises(PermissionDenied):
        svc.inspection_review(inspection=submitted, acting_user=alice)  # the author
    # a credit head who authored the report cannot review it either
    head_author = UserFactory(username="hal", role=Role.CREDIT_HEAD, branches=[org["a"]])
    Inspection.objects.filter(id=submitted.id).update(submitted_by=head_author)
    submitted.refresh_from_db()
    with pytest.raises(PermissionDenied):
        svc.inspection_review(inspection=submitted, acting_user=head_author)
    # a credit head of another institution does not see the loan
    south_head = UserFactory(username="sue", role=Role.CREDIT_HEAD, branches=[org["south"]])
    with pytest.raises(PermissionDenied):
        svc.inspection_review(inspection=submitted, acting_user=south_head)
    svc.inspection_review(inspection=submitted, acting_user=dave)
    submitted.refresh_from_db()
    assert (submitted.state, submitted.reviewed_by) == (InspectionState.REVIEWED, dave)


def test_only_the_manager_acknowledges(submitted, alice, dave, charlie):
    svc.inspection_review(inspection=submitted, acting_user=dave)
    for user in (alice, dave, charlie):
        with pytest.raises(PermissionDenied):
            svc.inspection_acknowledge(inspection=submitted, acting_user=user)


def test_return_needs_comments_and_sends_the_report_back(submitted, alice, dave, bob):
    with pytest.raises(ValidationFailed):
        svc.inspection_return(inspection=submitted, comments=" ", acting_user=dave)
    svc.inspection_return(inspection=submitted, comments="Add the mileage.", acting_user=dave)
    submitted.refresh_from_db()
    assert (submitted.state, submitted.review_comments, submitted.return_count) == ("returned", "Add the mileage.", 1)
    with pytest.raises(InvalidTransition):
        svc.inspection_review(inspection=submitted, acting_user=dave)
    # the officer fixes it and submits again
    svc.inspection_start(inspection=submitted, acting_user=alice)
    svc.inspection_report_save(inspection=submitted, data={"collateral_mileage": "42000"}, acting_user=alice)
    svc.inspection_submit(inspection=submitted, acting_user=alice)
    svc.inspection_review(inspection=submitted, acting_user=dave)
    svc.inspection_acknowledge(inspection=submitted, acting_user=bob)
    submitted.refresh_from_db()
    assert submitted.state == InspectionState.COMPLETED
    steps = list(SignOff.objects.filter(inspection=submitted).values_list("step", "by__username"))
    assert steps == [
        ("submitted", "alice"), ("returned", "dave"), ("submitted", "alice"), ("reviewed", "dave"),
        ("acknowledged", "bob"),
    ]  # fmt: skip


def test_completion_files_the_signed_pdf_into_the_credit_file(submitted, dave, bob):
    with on(DAY):
        svc.inspection_review(inspection=submitted, acting_user=dave)
        svc.inspection_acknowledge(inspection=submitted, acting_user=bob)
    submitted.refresh_from_db()
    document = FileDocument.objects.get(
        file=CreditFile.objects.get(loan=submitted.loan), code=f"inspection-{submitted.id}"
    )
    assert document.id == submitted.document_id
    assert (document.level, document.present) == (2, True)
    assert document.attachment.read(5) == b"%PDF-"
    # the report is in the borrower's language (Spanish by default) with the three signatures
    html = report_html(submitted, language="es")
    for name in ("alice", "Dave", "bob"):
        assert name in html
    assert 'lang="es"' in html


def test_review_revalues_the_collateral_and_records_the_proposed_downgrade(submitted, alice, dave, loan):
    collateral = Collateral.objects.create(loan=loan, kind="vehicle", description="Car", value=Decimal("15000.00"))
    svc.inspection_return(inspection=submitted, comments="Value the car.", acting_user=dave)
    svc.inspection_start(inspection=submitted, acting_user=alice)
    data = {
        "collateral": collateral.id,
        "collateral_estimated_value": "9000.50",
        "proposed_classification": "substandard",
    }
    svc.inspection_report_save(inspection=submitted, data=data, acting_user=alice)
    svc.inspection_submit(inspection=submitted, acting_user=alice)
    with on(DAY):
        svc.inspection_review(inspection=submitted, acting_user=dave)
    collateral.refresh_from_db()
    assert (collateral.value, collateral.valued_on) == (Decimal("9000.50"), DAY)
    override = ClassificationOverride.objects.get(loan=loan)
    assert (override.kind, override.classification, override.requested_by) == ("downgrade", "substandard", dave)
    assert set(FollowUpTask.objects.filter(inspection=submitted).values_list("kind", flat=True)) == {
        "revaluation", "reclassification",
    }  # fmt: skip


def test_attachments_check_type_and_size(first, alice, settings):
    svc.inspection_start(inspection=first, acting_user=alice)
    photo = SimpleUploadedFile("car.jpg", b"\xff\xd8\xff\xe0" + b"0" * 100, content_type="image/jpeg")
    attachment = svc.attachment_add(inspection=first, upload=photo, kind="photo", acting_user=alice)
    assert (attachment.content_type, attachment.size) == ("image/jpeg", 104)
    for upload in (
        SimpleUploadedFile("run.exe", b"MZ....", content_type="application/octet-stream"),
        SimpleUploadedFile("fake.pdf", b"not a pdf", content_type="application/pdf"),
        SimpleUploadedFile("empty.png", b"", content_type="image/png"),
    ):
        with pytest.raises(ValidationFailed):
            svc.attachment_add(inspection=first, upload=upload, kind="photo", acting_user=alice)
    svc.MAX_ATTACHMENT_BYTES, saved = 50, svc.MAX_ATTACHMENT_BYTES
    try:
        with pytest.raises(ValidationFailed):
            svc.attachment_add(inspection=first, upload=photo, kind="photo", acting_user=alice)
    finally:
        svc.MAX_ATTACHMENT_BYTES = saved
    assert first.attachments.count() == 1


def test_follow_up_tasks_have_owners_and_due_dates(first, alice, bob, charlie):
    with on(DAY):
        svc.inspection_start(inspection=first, acting_user=alice)
        with pytest.raises(ValidationFailed) as exc:
            svc.followup_task_add(
                inspection=first, kind="watch_list", description="Watch", owner=charlie, due_date=DAY,
                acting_user=alice,
            )  # fmt: skip
        assert set(exc.value.extra) == {"owner"}
        task = svc.followup_task_add(
            inspection=first, kind="watch_list", description="Watch list", owner=bob, due_date=DAY + timedelta(days=5),
            acting_user=alice,
        )  # fmt: skip
        with pytest.raises(PermissionDenied):
            svc.followup_task_done(task=task, acting_user=alice)
        svc.followup_task_done(task=task, acting_user=bob)
    task.refresh_from_db()
    assert (task.done_on, task.done_by) == (DAY, bob)


def test_an_adverse_event_triggers_an_event_inspection_within_7_days(loan, alice, charlie):
    with on(date(2024, 3, 1)):
        with pytest.raises(PermissionDenied):
            svc.adverse_event_record(
                loan=loan, kind="job_loss", occurred_on=date(2024, 2, 28), description="x", acting_user=charlie
            )
        svc.adverse_event_record(
            loan=loan, kind="job_loss", occurred_on=date(2024, 2, 28), description="Lost job", acting_user=alice
        )
    with on(date(2024, 3, 3)):
        svc.adverse_event_record(
            loan=loan, kind="litigation", occurred_on=date(2024, 3, 2), description="Sued", acting_user=alice
        )
    [event] = Inspection.objects.filter(loan=loan, type=InspectionType.EVENT)
    assert (event.due_date, event.state, event.officer) == (date(2024, 3, 8), "assigned", alice)
    assert loan.adverse_events.count() == 2


def test_assignment_by_the_manager_to_an_officer_of_the_branch(first, bob, alice, charlie, org):
    other = UserFactory(username="olga", role=Role.CREDIT_OFFICER, branches=[org["a"]])
    with pytest.raises(ValidationFailed):
        svc.inspection_assign(inspection=first, officer=charlie, acting_user=bob)
    with pytest.raises(PermissionDenied):
        svc.inspection_assign(inspection=first, officer=other, acting_user=alice)
    svc.inspection_assign(inspection=first, officer=other, acting_user=bob)
    first.refresh_from_db()
    assert (first.state, first.officer) == ("assigned", other)


def test_complete_walk_schedules_the_next_routine(first, alice, dave, bob):
    with on(DAY):
        complete(first, officer=alice, head=dave, manager=bob)
    routine = Inspection.objects.get(loan=first.loan, type=InspectionType.ROUTINE)
    assert (routine.due_date, routine.previous_id) == (DAY + timedelta(days=180), first.id)
