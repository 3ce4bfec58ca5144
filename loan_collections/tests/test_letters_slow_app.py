"""A Celery app for the worker-kill test: the project's app, with letter rendering slowed down
(only when LOANOPS_SLOW_LETTERS is set, i.e. inside the worker that the test kills), so the
test can kill it in the middle of a chunk. Holds no tests."""

import os
import time

from loanops.celery import app

if os.environ.get("LOANOPS_SLOW_LETTERS"):
    import django

    django.setup()
    from loan_collections.services import letters

    _real = letters.html_to_pdf

    def _slow(html: str) -> bytes:
        time.sleep(float(os.environ["LOANOPS_SLOW_LETTERS"]))
        return _real(html)

    letters.html_to_pdf = _slow

__all__ = ["app"]
