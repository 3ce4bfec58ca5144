"""dpd_chart_svg: a pure function from (date, days past due) points to an escaped inline SVG."""

import re
from datetime import date, timedelta
from xml.etree import ElementTree

import pytest
from django.utils import translation

from loans.charts import _nice_step, dpd_chart_svg

SVG = "{http://www.w3.org/2000/svg}"
START = date(2025, 1, 1)


def _parse(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)  # our own output: a well-formedness check


def _polyline_points(svg: str) -> list[tuple[float, float]]:
    line = _parse(svg).find(f"{SVG}polyline")
    return [tuple(float(v) for v in pair.split(",")) for pair in line.get("points").split()]


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def test_no_points_gives_a_no_history_svg():
    # when
    svg = dpd_chart_svg([])
    # then
    root = _parse(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Days past due"
    assert "No history yet" in svg
    assert "<polyline" not in svg


def test_it_draws_one_vertex_per_point_left_to_right_and_higher_for_more_days():
    # given: out of order on purpose
    points = [(START + timedelta(days=2), 5), (START, 0), (START + timedelta(days=1), 1)]
    # when
    vertices = _polyline_points(dpd_chart_svg(points))
    # then
    assert len(vertices) == 3
    xs = [x for x, _y in vertices]
    ys = [y for _x, y in vertices]
    assert xs == sorted(xs)
    assert ys[0] > ys[1] > ys[2]  # SVG y grows downwards


def test_it_has_a_title_a_description_and_axis_labels():
    points = [(START, 0), (START + timedelta(days=30), 45)]
    svg = dpd_chart_svg(points, title="History of L-1")
    root = _parse(svg)
    assert root.find(f"{SVG}title").text == "History of L-1"
    assert root.get("aria-labelledby") == "dpd-chart-title dpd-chart-desc"
    desc = root.find(f"{SVG}desc").text
    assert "highest 45 days past due" in desc
    assert "latest 45" in desc
    assert "2 days recorded" in desc
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert [t for t in texts if t and t.isdigit()] == ["0", "20", "40", "60"]  # a 1/2/5 step covering 45
    assert "01/01/2025" in texts
    assert "01/31/2025" in texts
    assert "Days past due" in texts  # the y axis title


def test_it_escapes_every_text():
    svg = dpd_chart_svg([(START, 3)], title='<script>alert("x")</script>', chart_id='c" onload="evil()')
    assert "<script" not in svg
    assert "&lt;script&gt;" in svg
    assert 'onload="' not in svg
    _parse(svg)  # still well-formed


def test_it_uses_no_style_attributes_or_scripts():
    svg = dpd_chart_svg([(START, 0), (START + timedelta(days=3), 3)])
    assert "style" not in svg
    assert "<script" not in svg
    assert "javascript:" not in svg


def test_a_single_point_is_centred_and_marked():
    svg = dpd_chart_svg([(START, 7)], width=400)
    root = _parse(svg)
    circle = root.find(f"{SVG}circle")
    assert float(circle.get("cx")) == pytest.approx(52 + (400 - 52 - 14) / 2)
    assert "7 days past due" in circle.find(f"{SVG}title").text


def test_the_window_fixes_the_axis_and_drops_points_outside_it():
    points = [(START - timedelta(days=1), 99), (START, 1), (START + timedelta(days=9), 2)]
    svg = dpd_chart_svg(points, start=START, end=START + timedelta(days=9))
    assert len(_polyline_points(svg)) == 2
    assert "highest 2 days past due" in svg


def test_only_points_outside_the_window_give_the_empty_chart():
    svg = dpd_chart_svg([(START, 5)], start=START + timedelta(days=1), end=START + timedelta(days=30))
    assert "No history yet" in svg


def test_all_zero_history_still_has_a_readable_axis():
    svg = dpd_chart_svg([(START, 0), (START + timedelta(days=1), 0)])
    texts = [t.text for t in _parse(svg).iter(f"{SVG}text")]
    assert [t for t in texts if t and t.isdigit()] == ["0", "5", "10"]


def test_it_honours_the_size():
    root = _parse(dpd_chart_svg([(START, 1)], width=320, height=120))
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("320", "120", "0 0 320 120")


def test_it_refuses_a_size_too_small_for_the_axes():
    with pytest.raises(ValueError, match="too small"):
        dpd_chart_svg([(START, 1)], width=50)


def test_the_labels_follow_the_active_language():
    with translation.override("es"):
        svg = dpd_chart_svg([(START + timedelta(days=30), 4), (START, 0)])
    assert "31/01/2025" in svg  # Spanish short date format


@pytest.mark.parametrize(("maximum", "step"), [(1, 1), (4, 1), (10, 5), (45, 20), (100, 50), (361, 100), (999, 500)])
def test_nice_step(maximum, step):
    assert _nice_step(maximum) == step
    assert step * 4 >= maximum


def test_coordinates_have_one_decimal_place():
    svg = dpd_chart_svg([(START, 0), (START + timedelta(days=7), 3)])
    assert all(
        re.fullmatch(r"\d+\.\d", v)
        for pair in _parse(svg).find(f"{SVG}polyline").get("points").split()
        for v in pair.split(",")
    )
