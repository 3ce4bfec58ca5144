"""Two clients posting the same payment at the same moment post it once (a live server, threads)."""

import json
import threading
import urllib.request

import pytest

from loans.models import Allocation, ParameterSet, Payment, Product
from loans.tests.fixtures import loan_body

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def reference_data(db):
    from datetime import date

    # a transactional test starts from empty tables: put back the migration's reference data
    Product.objects.get_or_create(code="AUTO", defaults={"name": "Auto loan"})
    ParameterSet.objects.get_or_create(product=None, valid_from=date(1900, 1, 1))


def _post(url, token, body, results, index, barrier):
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )  # fmt: skip
    barrier.wait()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            results[index] = (response.status, json.loads(response.read()))
    except urllib.error.HTTPError as exc:
        results[index] = (exc.code, json.loads(exc.read()))


@pytest.mark.parametrize("endpoint", ["single", "bulk"])
def test_the_same_payment_posted_at_once_is_posted_once(live_server, reference_data, org, api, api_token, endpoint):
    assert api.put("/api/v1/loans/L-1", loan_body(), format="json").status_code == 201
    payment = {"external_id": "TX-RACE", "loan_number": "L-1", "amount": "1000.00", "value_date": "2024-02-15"}
    if endpoint == "single":
        url, body = f"{live_server.url}/api/v1/payments", payment
    else:
        url, body = f"{live_server.url}/api/v1/payments/bulk", {"payments": [payment]}
    clients = 6
    results = [None] * clients
    barrier = threading.Barrier(clients)
    threads = [threading.Thread(target=_post, args=(url, api_token, body, results, i, barrier)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if endpoint == "bulk":
        statuses = sorted(r[1]["results"][0]["status"] for r in results)
    else:
        statuses = sorted(r[0] for r in results)
    assert statuses == [200] * (clients - 1) + [201]
    assert Payment.objects.filter(external_id="TX-RACE").count() == 1
    assert Allocation.objects.count() == 1
