"""Log redaction: national IDs, phone numbers and account numbers never reach the logs."""

import logging
import re

_PATTERNS = [  # most specific first
    re.compile(r"\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b"),  # IBAN
    re.compile(r"\b[A-Z]?\d{7,8}[A-Z]\b"),  # DNI/NIE-style national ids
    re.compile(r"\+?\d[\d ]{7,}\d"),  # phone and account numbers (dates, with hyphens, stay)
]


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub("[redacted]", text)
    return text


class RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = record.getMessage()
            record.args = ()
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True
