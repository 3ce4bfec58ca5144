"""Record numbers (ids) print as they are, never with a thousands separator: `#1095`, not
`#1,095` (USE_THOUSAND_SEPARATOR groups every number a template prints, which is right for
amounts and counts but breaks links, labels and HTML ids from the thousandth record on)."""

import re
from datetime import date
from pathlib import Path
from types import SimpleNamespace

from django.conf import settings
from django.template.loader import render_to_string

TEMPLATES = Path(settings.BASE_DIR) / "templates"
_NOT_IDS = ("external_id", "masked_id", "national_id", "section.id", "panel.id")
_PRINTED = re.compile(r"\{\{ *([A-Za-z_][A-Za-z0-9_.]*(?:\.id|\.pk|_id)) *\}\}")
_TRANSLATED = re.compile(r"\{% *blocktranslate [^%]*?=([A-Za-z_][A-Za-z0-9_.]*(?:\.id|\.pk|_id))(?=[ %])")


def test_no_template_prints_an_id_localized():
    offenders = []
    for path in sorted([*TEMPLATES.rglob("*.html"), *TEMPLATES.rglob("*.txt")]):
        text = path.read_text()
        for pattern in (_PRINTED, _TRANSLATED):
            offenders += [f"{path.relative_to(TEMPLATES)}: {m[1]}" for m in pattern.finditer(text)
                          if not m[1].endswith(_NOT_IDS)]  # fmt: skip
    assert offenders == [], "print ids with |unlocalize"


def test_an_inspection_number_past_a_thousand_prints_plainly(settings):
    settings.USE_THOUSAND_SEPARATOR = True
    inspection = SimpleNamespace(
        id=12345, due_date=date(2024, 1, 1), is_open=False, officer=None,
        loan=SimpleNamespace(number="L-1", branch=SimpleNamespace(code="BR")),
        get_type_display=lambda: "Spot check", get_state_display=lambda: "Filed",
    )  # fmt: skip
    html = render_to_string("inspections/includes/inspection_table.html",
                            {"items": [inspection], "today": date(2024, 1, 2), "testid": "t"})  # fmt: skip
    assert ">12345<" in html
    assert 'data-testid="state-12345"' in html
    assert "12,345" not in html
