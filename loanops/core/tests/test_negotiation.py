"""The JSON-only negotiation answers exactly what DRF's own negotiation answers."""

import pytest
from django.http import Http404
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from loanops.core.api.negotiation import JSONNegotiation
from loanops.core.api.parsers import DecimalJSONParser


def _answer(negotiation, accept: str | None, query: str = ""):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get(f"/api/v1/loans{query}", **headers))
    try:
        renderer, media_type = negotiation().select_renderer(request, [JSONRenderer()])
    except NotAcceptable:
        return "406"
    except Http404:  # an unknown ?format=
        return "404"
    return type(renderer), media_type


@pytest.mark.parametrize(
    "accept",
    [None, "", "*/*", "application/json", " application/json ", "application/json; indent=4", "application/*",
     "text/html", "text/html, */*;q=0.8", "application/xml", "text/csv"],
)  # fmt: skip
@pytest.mark.parametrize("query", ["", "?page=2", "?format=json", "?format=csv"])
def test_it_answers_as_drf_does(accept, query):
    assert _answer(JSONNegotiation, accept, query) == _answer(DefaultContentNegotiation, accept, query)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "text/plain",
        "",
        "multipart/form-data",
    ],
)
def test_it_picks_the_parser_drf_picks(content_type):
    parsers = [DecimalJSONParser(), FormParser(), MultiPartParser()]
    request = Request(APIRequestFactory().post("/api/v1/payments", b"{}", content_type=content_type))
    ours = JSONNegotiation().select_parser(request, parsers)
    theirs = DefaultContentNegotiation().select_parser(request, parsers)
    assert ours is theirs


@pytest.mark.django_db
def test_the_api_refuses_what_it_cannot_render(api):
    assert api.get("/api/v1/loans", HTTP_ACCEPT="text/html").status_code == 406
    response = api.get("/api/v1/loans")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
