"""The plain fast path for payment items must agree with the serializer wherever it answers."""

from hypothesis import given, settings
from hypothesis import strategies as st

from loans.api.serializers import PaymentInputSerializer, payment_input_plain

TEXT = st.one_of(
    st.sampled_from(["P-1", "LN-0001", " P-1", "P-1 ", "", "x" * 100, "x" * 101, "ñandú", "a\x00b", "a\tb"]),
    st.text(max_size=8),
)
AMOUNT = st.one_of(
    st.sampled_from(["540.00", "0.00", "0.01", "1e3", "1,000.00", "12.345", "9999999999999.99", "99999999999999.99",
                     "-5.00", " 5.00", "5", "5.0", "00012.00"]),
    st.text(alphabet="0123456789.-e ", max_size=8), st.integers(), st.floats(), st.none(),
)  # fmt: skip
DATE = st.one_of(
    st.sampled_from(["2026-10-31", "2026-02-30", "2026-1-05", "20261031", "2026-10-31T00:00", "31/10/2026"]),
    st.dates().map(str),
    st.text(max_size=10),
    st.none(),
)
PAYER = st.sampled_from(["borrower", "dealer", "insurer", "guarantor", "collateral_sale", "bank", None, 3])


@st.composite
def items(draw):
    item = {
        "external_id": draw(TEXT),
        "loan_number": draw(TEXT),
        "amount": draw(AMOUNT),
        "value_date": draw(DATE),
        "payer": draw(PAYER),
    }
    for key in draw(st.sets(st.sampled_from([*item, "extra"]), max_size=2)):
        if key == "extra":
            item["extra"] = 1
        else:
            del item[key]
    return item


@settings(max_examples=500, deadline=None, database=None)
@given(items())
def test_the_plain_path_agrees_with_the_serializer(item):
    plain = payment_input_plain(item)
    serializer = PaymentInputSerializer(data=item)
    valid = serializer.is_valid()
    if plain is not None:  # whatever it accepts, the serializer accepts, with the same values
        assert valid, serializer.errors
        assert plain == dict(serializer.validated_data)


def test_the_plain_path_takes_the_usual_payment():
    item = {"external_id": "P-1", "loan_number": "LN-1", "amount": "540.00", "value_date": "2026-10-31"}
    assert payment_input_plain(item) == dict(PaymentInputSerializer(data=item).run_validation(item))
    assert payment_input_plain({**item, "payer": "dealer"})["payer"] == "dealer"


def test_an_amount_too_big_for_the_decimal_context_is_a_field_error():
    serializer = PaymentInputSerializer(
        data={"external_id": "P-1", "loan_number": "LN-1", "amount": 10**29, "value_date": "2026-10-31"}
    )
    assert not serializer.is_valid()
    assert serializer.errors["amount"] == ["Use at most 15 digits."]
