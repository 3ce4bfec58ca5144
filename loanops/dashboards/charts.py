"""Server-side SVG charts for the dashboards (the approach of `loans/charts.py`): pure functions,
no JavaScript, no inline styles (CSP), every text escaped, readable when printed.

Values are percentages or money as Decimal; they are turned into pixel floats here only.
"""

from decimal import Decimal
from html import escape

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 52, 120, 12, 34
GRID_COLOUR = "#dee2e6"
TEXT_COLOUR = "#495057"
FONT = 'font-family="system-ui, sans-serif" font-size="11"'
PALETTE = ("#dc3545", "#fd7e14", "#0d6efd", "#198754", "#6f42c1", "#20c997", "#6c757d", "#d63384", "#0dcaf0",
           "#ffc107", "#343a40", "#adb5bd")  # fmt: skip


def _e(value) -> str:
    return escape(str(value), quote=True)


def _n(value: float) -> str:
    return f"{value:.1f}"


def _nice_top(maximum: float) -> float:
    if maximum <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(maximum))) - 1) if maximum >= 1 else 0.1
    for multiple in (1, 2, 2.5, 5, 10):
        if maximum <= multiple * magnitude:
            return multiple * magnitude
    return 10 * magnitude


def _open(width: int, height: int, chart_id: str, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" id="{_e(chart_id)}" aria-labelledby="{_e(chart_id)}-title {_e(chart_id)}-desc" '
        f'class="dashboard-chart">',
        f'<title id="{_e(chart_id)}-title">{_e(title)}</title>',
        f'<desc id="{_e(chart_id)}-desc">{_e(desc)}</desc>',
    ]


def _empty(width: int, height: int, chart_id: str, title: str) -> SafeString:
    message = gettext("No data yet")
    parts = _open(width, height, chart_id, title, message)
    parts.append(
        f'<text x="{_n(width / 2)}" y="{_n(height / 2)}" text-anchor="middle" dominant-baseline="middle" '
        f'fill="{TEXT_COLOUR}" {FONT}>{_e(message)}</text></svg>'
    )
    return mark_safe("".join(parts))  # noqa: S308  (every text above is escaped)


def line_chart_svg(
    series: list[tuple[str, list[Decimal | None]]],
    x_labels: list[str],
    *,
    title: str,
    chart_id: str,
    unit: str = "%",
    width: int = 720,
    height: int = 240,
) -> SafeString:
    """Lines over shared X_LABELS; a None value leaves a gap. Legend on the right."""
    values = [float(v) for _label, points in series for v in points if v is not None]
    if not x_labels or not values:
        return _empty(width, height, chart_id, title)
    plot_w = width - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = height - MARGIN_TOP - MARGIN_BOTTOM
    bottom = MARGIN_TOP + plot_h
    top = _nice_top(max(values))
    count = len(x_labels)

    def x(index: int) -> float:
        return MARGIN_LEFT + (plot_w / 2 if count == 1 else plot_w * index / (count - 1))

    def y(value: float) -> float:
        return bottom - plot_h * value / top

    desc = "; ".join(
        f"{label}: " + ", ".join(f"{x_labels[i]} {v}{unit}" for i, v in enumerate(points) if v is not None)
        for label, points in series
    )
    parts = _open(width, height, chart_id, title, desc)
    for step in range(5):
        value = top * step / 4
        parts.append(
            f'<line x1="{MARGIN_LEFT}" y1="{_n(y(value))}" x2="{MARGIN_LEFT + plot_w}" y2="{_n(y(value))}" '
            f'stroke="{GRID_COLOUR}" stroke-width="1"/>'
            f'<text x="{MARGIN_LEFT - 6}" y="{_n(y(value))}" text-anchor="end" dominant-baseline="middle" '
            f'fill="{TEXT_COLOUR}" {FONT}>{_e(f"{value:g}{unit}")}</text>'
        )
    every = max(1, -(-count // 8))
    for index, label in enumerate(x_labels):
        if index % every == 0 or index == count - 1:
            parts.append(
                f'<text x="{_n(x(index))}" y="{_n(bottom + 18)}" text-anchor="middle" fill="{TEXT_COLOUR}" '
                f"{FONT}>{_e(label)}</text>"
            )
    parts.append(
        f'<line x1="{MARGIN_LEFT}" y1="{_n(bottom)}" x2="{MARGIN_LEFT + plot_w}" y2="{_n(bottom)}" '
        f'stroke="{TEXT_COLOUR}" stroke-width="1"/>'
    )
    for number, (label, points) in enumerate(series):
        colour = PALETTE[number % len(PALETTE)]
        runs: list[list[str]] = [[]]
        for index, value in enumerate(points):
            if value is None:
                runs.append([])
                continue
            runs[-1].append(f"{_n(x(index))},{_n(y(float(value)))}")
            parts.append(
                f'<circle cx="{_n(x(index))}" cy="{_n(y(float(value)))}" r="2.5" fill="{colour}">'
                f"<title>{_e(label)} · {_e(x_labels[index])}: {_e(value)}{_e(unit)}</title></circle>"
            )
        for run in runs:
            if len(run) > 1:
                parts.append(
                    f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" stroke-width="2" '
                    f'stroke-linejoin="round"/>'
                )
        ly = MARGIN_TOP + 14 * number + 6
        parts.append(
            f'<rect x="{width - MARGIN_RIGHT + 10}" y="{_n(ly - 5)}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{width - MARGIN_RIGHT + 24}" y="{_n(ly)}" dominant-baseline="middle" fill="{TEXT_COLOUR}" '
            f"{FONT}>{_e(label)}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  (every text above is escaped)


def bar_chart_svg(
    bars: list[tuple[str, Decimal]], *, title: str, chart_id: str, width: int = 720, height: int = 220
) -> SafeString:
    """Vertical bars (money or counts), labelled underneath, value on top."""
    if not bars or not any(value for _label, value in bars):
        return _empty(width, height, chart_id, title)
    right = 14
    plot_w = width - MARGIN_LEFT - right
    plot_h = height - MARGIN_TOP - MARGIN_BOTTOM - 10
    bottom = MARGIN_TOP + 10 + plot_h
    top = _nice_top(float(max(value for _label, value in bars)))
    slot = plot_w / len(bars)
    desc = "; ".join(f"{label}: {value}" for label, value in bars)
    parts = _open(width, height, chart_id, title, desc)
    parts.append(
        f'<line x1="{MARGIN_LEFT}" y1="{_n(bottom)}" x2="{MARGIN_LEFT + plot_w}" y2="{_n(bottom)}" '
        f'stroke="{TEXT_COLOUR}" stroke-width="1"/>'
    )
    for index, (label, value) in enumerate(bars):
        bar_h = plot_h * float(value) / top
        bx = MARGIN_LEFT + slot * index + slot * 0.15
        parts.append(
            f'<rect x="{_n(bx)}" y="{_n(bottom - bar_h)}" width="{_n(slot * 0.7)}" height="{_n(bar_h)}" '
            f'fill="{PALETTE[2]}"><title>{_e(label)}: {_e(value)}</title></rect>'
            f'<text x="{_n(bx + slot * 0.35)}" y="{_n(bottom - bar_h - 4)}" text-anchor="middle" '
            f'fill="{TEXT_COLOUR}" {FONT}>{_e(f"{value:,}")}</text>'
            f'<text x="{_n(bx + slot * 0.35)}" y="{_n(bottom + 16)}" text-anchor="middle" fill="{TEXT_COLOUR}" '
            f"{FONT}>{_e(label)}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  (every text above is escaped)
