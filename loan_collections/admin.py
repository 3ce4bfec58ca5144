"""Admin site of the collections app: administrators edit the letter wording without code."""

from django.contrib import admin

from loan_collections.models import LetterTemplate


@admin.register(LetterTemplate)
class LetterTemplateAdmin(admin.ModelAdmin):
    """Wording of each letter type per language. Placeholders: {borrower}, {contract}, {total_due},
    {deadline}, {days_past_due}, {branch}, {dealer}, {insurer}, {policy}. A letter keeps the wording
    it was issued with; edits apply to letters issued afterwards."""

    list_display = ("letter_type", "language", "title", "updated_at")
    list_filter = ("letter_type", "language")
    search_fields = ("title", "opening")
    readonly_fields = ("created_at", "updated_at")

    def has_delete_permission(self, request, obj=None):
        return False
