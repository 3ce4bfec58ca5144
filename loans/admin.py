from django.contrib import admin

from loanops.core.admin import ScopedAdminMixin
from loans.models import Borrower, Dealer, InsurancePolicy, Insurer, Loan, ParameterSet, Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "is_active")


@admin.register(ParameterSet)
class ParameterSetAdmin(admin.ModelAdmin):
    """Versioned parameters: a change is a new version valid from a date (never an edit of the past)."""

    list_display = ("product", "valid_from", "grace_days", "tolerance", "excess_handling", "consecutive_trigger",
                    "cumulative_trigger")  # fmt: skip
    list_filter = ("product",)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in ParameterSet._meta.fields] if obj else []


@admin.register(Dealer)
class DealerAdmin(admin.ModelAdmin):
    list_display = ("external_id", "name", "suspended_new_business")
    search_fields = ("external_id", "name")


@admin.register(Insurer)
class InsurerAdmin(admin.ModelAdmin):
    list_display = ("external_id", "name")


@admin.register(InsurancePolicy)
class InsurancePolicyAdmin(admin.ModelAdmin):
    list_display = ("insurer", "number")


@admin.register(Borrower)
class BorrowerAdmin(admin.ModelAdmin):
    list_display = ("external_id", "name")
    search_fields = ("external_id", "name")

    def get_queryset(self, request):
        from loanops.org.scoping import for_user

        visible = for_user(Loan.objects.all(), request.user).values("borrower_id")
        return super().get_queryset(request).filter(id__in=visible)


@admin.register(Loan)
class LoanAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Loans come from core banking: read-only here."""

    list_display = ("number", "branch", "product", "borrower", "status", "disbursement_date")
    list_filter = ("status", "product")
    search_fields = ("number", "borrower__name")
    list_select_related = ("branch", "product", "borrower")

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
