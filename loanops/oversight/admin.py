from django.contrib import admin

from loanops.oversight.models import OversightParameters


@admin.register(OversightParameters)
class OversightParametersAdmin(admin.ModelAdmin):
    """Versioned parameters: a change is a new version valid from a date (never an edit of the past,
    since every monthly report records the version it used)."""

    list_display = ("valid_from", "npl_ratio_limit", "lift_consecutive_reports", "authority_factor",
                    "suspended_business_types", "dealer_overdue_rate_limit", "note")  # fmt: skip

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in OversightParameters._meta.fields] if obj else []

    def has_delete_permission(self, request, obj=None):
        return False
