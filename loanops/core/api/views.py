import pghistory
from rest_framework.views import APIView


class BaseApiView(APIView):
    """Every API view: records the authenticated client in the audit-trail context."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.user and request.user.is_authenticated:
            pghistory.context(user=request.user.id, api=True)
