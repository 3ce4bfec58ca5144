"""Content negotiation for a JSON-only API, without the header parsing on every call."""

from rest_framework.negotiation import DefaultContentNegotiation

_ANYTHING = {"*/*", "application/json"}


class JSONNegotiation(DefaultContentNegotiation):
    """A request that takes what the API renders (no Accept header, `*/*` or `application/json`,
    no `?format=`) gets the one renderer straight away, as DRF's own negotiation would answer;
    any other goes through DRF's negotiation (406 for what the API cannot give)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if (
            len(renderers) == 1
            and format_suffix is None
            and request.META.get("HTTP_ACCEPT", "*/*").strip() in _ANYTHING
            and "format=" not in request.META.get("QUERY_STRING", "")
        ):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)

    def select_parser(self, request, parsers):
        """The first parser, when the request's content type is exactly its media type (what DRF's
        own matching answers then); otherwise DRF's matching."""
        if parsers and request.content_type == parsers[0].media_type:
            return parsers[0]
        return super().select_parser(request, parsers)
