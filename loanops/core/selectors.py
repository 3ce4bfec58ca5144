"""Reads over the audit trail (django-pghistory events of every tracked model)."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from pghistory.models import Events


def audit_events(
    *,
    model: str | None = None,
    object_id: str | None = None,
    username: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet:
    events = Events.objects.all()
    if model:
        events = events.filter(pgh_obj_model__iexact=model)
    if object_id:
        events = events.filter(pgh_obj_id=object_id)
    if username:
        user_ids = list(get_user_model().objects.filter(username=username).values_list("id", flat=True))
        events = events.filter(pgh_context__user__in=user_ids) if user_ids else events.none()
    if since:
        events = events.filter(pgh_created_at__gte=since)
    if until:
        events = events.filter(pgh_created_at__lte=until)
    return events.order_by("-pgh_created_at")


def history_for(obj, *, limit: int = 50) -> list:
    """The newest events of one object, for the history panel of its detail page."""
    events = list(Events.objects.tracks(obj).order_by("-pgh_created_at")[:limit])
    user_ids = {str(e.pgh_context.get("user")) for e in events if e.pgh_context and e.pgh_context.get("user")}
    names = {
        str(pk): name
        for pk, name in get_user_model()
        .objects.filter(id__in=[u for u in user_ids if u.isdigit()])
        .values_list("id", "username")
    }
    for event in events:
        context = event.pgh_context or {}
        event.actor = names.get(str(context.get("user")), context.get("job") or context.get("task") or "")
    return events
