"""Server-side SVG charts for the loan pages: pure functions, no JavaScript, no database.

The page's CSP is `default-src 'self'` with no inline styles, so the SVG uses presentation
attributes (fill, stroke, font-size) and never a `style` attribute or element. Every piece of
text is escaped here, and the result is marked safe for the template. Coordinates are pixels
(floats are fine there); no money is involved.
"""

from datetime import date
from html import escape

from django.utils.formats import date_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 52, 14, 12, 30
MIN_Y_RANGE = 10  # an all-zero history still gets a readable 0–10 axis
LINE_COLOUR = "#dc3545"
GRID_COLOUR = "#dee2e6"
TEXT_COLOUR = "#495057"
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def _e(value) -> str:
    return escape(str(value), quote=True)


def _n(value: float) -> str:
    return f"{value:.1f}"


def _nice_step(maximum: int, ticks: int = 4) -> int:
    """The smallest 1/2/5 × 10^k step that covers MAXIMUM in at most TICKS steps."""
    raw = max(1, -(-maximum // ticks))
    magnitude = 10 ** (len(str(raw)) - 1)
    for multiple in (1, 2, 5, 10):
        if raw <= multiple * magnitude:
            return multiple * magnitude
    return 10 * magnitude  # unreachable: raw <= 10 * magnitude always


def _short(d: date) -> str:
    return date_format(d, "SHORT_DATE_FORMAT")


def _open(width: int, height: int, chart_id: str, title: str, desc: str) -> list[str]:
    return [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" id="{_e(chart_id)}" '
            f'aria-labelledby="{_e(chart_id)}-title {_e(chart_id)}-desc">'
        ),
        f'<title id="{_e(chart_id)}-title">{_e(title)}</title>',
        f'<desc id="{_e(chart_id)}-desc">{_e(desc)}</desc>',
    ]


def dpd_chart_svg(
    points: list[tuple[date, int]],
    *,
    width: int = 640,
    height: int = 200,
    start: date | None = None,
    end: date | None = None,
    title: str | None = None,
    chart_id: str = "dpd-chart",
) -> SafeString:
    """A line chart of days past due over time, as an inline SVG string.

    POINTS are (date, days past due) in any order. START/END fix the x axis (default: the
    first and last point); points outside it are left out. No points: a "No history yet" SVG.
    """
    if width <= MARGIN_LEFT + MARGIN_RIGHT or height <= MARGIN_TOP + MARGIN_BOTTOM:
        raise ValueError(f"chart too small: {width}×{height}")
    title = title or gettext("Days past due")
    series = sorted((d, max(0, int(dpd))) for d, dpd in points)
    first = start or (series[0][0] if series else None)
    last = end or (series[-1][0] if series else None)
    if first and last and first > last:
        first, last = last, first
    series = [(d, dpd) for d, dpd in series if first <= d <= last]

    if not series:
        message = gettext("No history yet")
        parts = _open(width, height, chart_id, title, message)
        parts.append(
            f'<text x="{_n(width / 2)}" y="{_n(height / 2)}" text-anchor="middle" '
            f'dominant-baseline="middle" fill="{TEXT_COLOUR}" {FONT}>{_e(message)}</text>'
        )
        parts.append("</svg>")
        return mark_safe("".join(parts))  # every text above is escaped

    plot_w = width - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = height - MARGIN_TOP - MARGIN_BOTTOM
    bottom = MARGIN_TOP + plot_h
    span = (last - first).days
    highest = max(dpd for _d, dpd in series)
    step = _nice_step(max(highest, MIN_Y_RANGE))
    y_top = step * max(1, -(-max(highest, MIN_Y_RANGE) // step))

    def x(d: date) -> float:
        if span == 0:
            return MARGIN_LEFT + plot_w / 2
        return MARGIN_LEFT + plot_w * (d - first).days / span

    def y(dpd: int) -> float:
        return bottom - plot_h * dpd / y_top

    latest_date, latest = series[-1]
    desc = gettext(
        "From %(start)s to %(end)s: highest %(highest)s days past due, latest %(latest)s days past due "
        "(%(count)s days recorded)."
    ) % {"start": _short(first), "end": _short(last), "highest": highest, "latest": latest, "count": len(series)}
    parts = _open(width, height, chart_id, title, desc)

    # Y axis: gridlines and labels.
    for tick in range(0, y_top + 1, step):
        ty = y(tick)
        parts.append(
            f'<line x1="{MARGIN_LEFT}" y1="{_n(ty)}" x2="{MARGIN_LEFT + plot_w}" y2="{_n(ty)}" '
            f'stroke="{GRID_COLOUR}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{MARGIN_LEFT - 6}" y="{_n(ty)}" text-anchor="end" dominant-baseline="middle" '
            f'fill="{TEXT_COLOUR}" {FONT}>{tick}</text>'
        )
    parts.append(
        f'<text transform="rotate(-90)" x="{_n(-(MARGIN_TOP + plot_h / 2))}" y="12" text-anchor="middle" '
        f'fill="{TEXT_COLOUR}" {FONT}>{_e(gettext("Days past due"))}</text>'
    )

    # X axis: the axis line and the first/last dates.
    parts.append(
        f'<line x1="{MARGIN_LEFT}" y1="{_n(bottom)}" x2="{MARGIN_LEFT + plot_w}" y2="{_n(bottom)}" '
        f'stroke="{TEXT_COLOUR}" stroke-width="1"/>'
    )
    if span == 0:
        labels = [(x(first), "middle", first)]
    else:
        labels = [(MARGIN_LEFT, "start", first), (MARGIN_LEFT + plot_w, "end", last)]
    for lx, anchor, d in labels:
        parts.append(
            f'<text x="{_n(lx)}" y="{_n(bottom + 18)}" text-anchor="{anchor}" fill="{TEXT_COLOUR}" {FONT}>'
            f"{_e(_short(d))}</text>"
        )

    # The series, and a marker on the latest value.
    coordinates = " ".join(f"{_n(x(d))},{_n(y(dpd))}" for d, dpd in series)
    parts.append(
        f'<polyline points="{coordinates}" fill="none" stroke="{LINE_COLOUR}" stroke-width="2" '
        f'stroke-linejoin="round" stroke-linecap="round"/>'
    )
    marker = gettext("%(date)s: %(days)s days past due") % {"date": _short(latest_date), "days": latest}
    parts.append(
        f'<circle cx="{_n(x(latest_date))}" cy="{_n(y(latest))}" r="3.5" fill="{LINE_COLOUR}">'
        f"<title>{_e(marker)}</title></circle>"
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text above is escaped
