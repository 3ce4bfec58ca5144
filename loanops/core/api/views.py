import pghistory
from django.http import HttpResponse
from rest_framework.views import APIView


class BaseApiView(APIView):
    """Every API view: records the authenticated client in the audit-trail context."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.user and request.user.is_authenticated:
            pghistory.context(user=request.user.id, api=True)

    def rendered(self, data, status: int) -> HttpResponse:
        """What `Response(data, status=status)` sends (the same bytes, by the renderer the request
        accepted, and the same headers once DRF finalizes it), rendered here: without the
        template-response machinery around it, for the API's hottest answer."""
        request = self.request
        renderer = request.accepted_renderer
        body = renderer.render(data, request.accepted_media_type, self.get_renderer_context())
        content_type = f"{renderer.media_type}; charset={renderer.charset}" if renderer.charset else renderer.media_type
        return HttpResponse(body, content_type=content_type, status=status)
