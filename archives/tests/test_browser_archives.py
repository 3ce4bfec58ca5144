"""In Chromium: an archivist scans a file's label, receives the handoff into the vault and the
archive room, scans it again to lend it, and the next day (after the nightly run) sees it overdue."""

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from archives.labels import file_label_code
from archives.models import BorrowRequest, CreditFile, CustodyAlert, CustodyEvent
from archives.services.custody import borrow_approve, borrow_request_create
from archives.services.files import credit_file_check, credit_file_handoff_submit
from archives.tests.helpers import ARCHIVE, VAULT, complete, make_loan
from loanops.core.nightly import run_nightly
from loanops.core.tests.browser import login, page  # noqa: F401  (fixture)
from loanops.org.models import Role
from loanops.org.tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"
MADRID = ZoneInfo("Europe/Madrid")
DAY = date(2024, 3, 1)
NEXT_DAY = date(2024, 3, 2)


def test_an_archivist_scans_receives_lends_and_sees_the_file_overdue_the_next_day(
    page,  # noqa: F811
    live_server,
    org,
    alice,
    bob,
    admin,
    locations,
):
    from playwright.sync_api import expect

    UserFactory(username="archie", role=Role.ARCHIVIST, branches=[org["a"]], password=PASSWORD)
    with time_machine.travel(datetime(2024, 3, 1, 9, 0, tzinfo=MADRID), tick=True):
        # given: the officer handed the file of L-A over
        file = make_loan("L-A", admin=admin).credit_file
        complete(file, alice)
        credit_file_check(file=file, acting_user=alice)
        credit_file_handoff_submit(file=file, acting_user=alice)
        code = file_label_code(file.id)

        # when the archivist opens the desk, the handoff waits for her
        login(page, live_server, "archie", PASSWORD)
        page.locator("[data-testid=nav]").get_by_role("link", name="Archive desk").click()
        expect(page.locator("[data-testid=desk-handoffs]")).to_contain_text("L-A")

        # and she scans the file's label: the scanner types the code and Enter
        page.locator("[data-testid=desk-scan]").click()
        scan = page.locator("[data-testid=scan-input]")
        expect(scan).to_be_focused()
        page.keyboard.type(code)
        page.keyboard.press("Enter")

        # then the file opens on the receiving form; she puts level 1 in the vault, level 2 in the archive room
        expect(page).to_have_url(re.compile(rf"/archives/{file.id}/\?action=receive"))
        receive = page.locator("#receive")
        receive.get_by_label("Vault location (level 1)").select_option(VAULT)
        receive.get_by_label("Archive location (level 2)").select_option(ARCHIVE)
        receive.get_by_role("button", name="Accept and sign the register").click()
        expect(page.locator("[data-testid=file-state]")).to_have_text("Archived")
        expect(page.locator("[data-testid=custody-events]")).to_contain_text("Document stored")

        # given: the officer asks to borrow the contract for the day; the manager approves
        request = borrow_request_create(
            file=file, document_codes=["contract"], purpose="audit", reason="", return_on=DAY, acting_user=alice
        )
        borrow_approve(request=request, acting_user=bob)

        # when she scans the label again, the lending form opens and she hands the contract over
        page.goto(f"{live_server.url}/archives/scan/")
        page.locator("[data-testid=scan-input]").focus()
        page.keyboard.type(code)
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(rf"/archives/borrowing/{request.id}/#lend"))
        page.locator("#lend").get_by_role("button", name="Hand over the documents").click()
        expect(page.locator("[data-testid=borrow-state]")).to_have_text("On loan")
        expect(page.locator("[data-testid=borrow-overdue]")).to_have_count(0)

    # then the contract is out with the officer, recorded in the register
    request.refresh_from_db()
    assert request.state == BorrowRequest.State.ON_LOAN
    assert request.return_due == DAY
    assert CreditFile.objects.get(id=file.id).state == CreditFile.State.ON_LOAN
    assert CustodyEvent.objects.filter(file=file, kind=CustodyEvent.Kind.LENT, to_holder=alice).count() == 1

    # when: the next day, not returned; the nightly chain runs
    with time_machine.travel(datetime(2024, 3, 2, 9, 0, tzinfo=MADRID), tick=True):
        results = dict(run_nightly(as_of=NEXT_DAY))
        assert results["archives.custody_alerts"] == 2  # the officer who borrowed it and the archivist
        login(page, live_server, "archie", PASSWORD)  # a new working day, a new session
        page.goto(f"{live_server.url}/archives/desk/")

        # then the desk shows the file overdue, and the alert
        on_loan = page.locator("[data-testid=desk-on-loan]")
        expect(on_loan).to_contain_text("L-A")
        expect(on_loan.locator("[data-testid=overdue-badge]")).to_have_text("Overdue")
        expect(page.locator("[data-testid=desk-alerts]")).to_contain_text("File on loan overdue")

        # and her own alerts page lists it too
        page.locator("[data-testid=nav]").get_by_role("link", name="Custody alerts").click()
        expect(page.locator("[data-testid=my-alerts]")).to_contain_text("L-A")
    assert set(CustodyAlert.objects.values_list("recipient__username", flat=True)) == {"alice", "archie"}
