from django.contrib import admin

from loanops.core.models import JobChunk, JobRun
from loanops.org.scoping import for_user


class ScopedAdminMixin:
    """Admin lists go through the same branch scoping as every page and API view."""

    def get_queryset(self, request):
        return for_user(super().get_queryset(request), request.user)


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin):
    list_display = ("job", "business_date", "status", "attempts", "rows_changed", "started_at", "finished_at")
    list_filter = ("status", "job")
    date_hierarchy = "business_date"
    readonly_fields = [f.name for f in JobRun._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(JobChunk)
class JobChunkAdmin(admin.ModelAdmin):
    list_display = ("run", "lo", "hi", "done", "worker", "rows_changed", "done_at")
    list_filter = ("done",)
    readonly_fields = [f.name for f in JobChunk._meta.fields]

    def has_add_permission(self, request):
        return False
