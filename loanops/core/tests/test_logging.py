import logging

from loanops.core.logging import RedactFilter, redact


def test_it_redacts_customer_data_but_keeps_dates():
    text = redact("as_of 2026-11-27 phone +34 600 000 000 id X1234567Z iban ES9121000418450200051332")
    assert text == "as_of 2026-11-27 phone [redacted] id [redacted] iban [redacted]"


def test_the_filter_redacts_formatted_arguments():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "call %s on %s", ("+34 600 000 000", "2026-01-02"), None)
    RedactFilter().filter(record)
    assert record.getMessage() == "call [redacted] on 2026-01-02"
