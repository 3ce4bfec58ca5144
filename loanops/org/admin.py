from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from loanops.core.admin import ScopedAdminMixin
from loanops.org.models import Branch, User


@admin.register(Branch)
class BranchAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name", "parent", "depth", "path")
    search_fields = ("code", "name")
    readonly_fields = ("path", "depth")

    def save_model(self, request, obj, form, change):
        from loanops.org.services.branches import branch_upsert

        branch, _ = branch_upsert(
            code=obj.code, name=obj.name, parent_code=obj.parent.code if obj.parent else None, acting_user=request.user
        )
        obj.pk = branch.pk


@admin.register(User)
class UserAdmin(ScopedAdminMixin, BaseUserAdmin):
    list_display = ("username", "get_full_name", "role", "is_active", "is_staff")
    list_filter = ("role", "is_active", "branches")
    filter_horizontal = ("branches", "groups", "user_permissions")
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("LoanOps"), {"fields": ("role", "branches", "language", "phone")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).distinct()
