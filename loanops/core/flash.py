"""Turning validation and application errors into page messages (POST/redirect/GET views)."""

from django.contrib import messages

from loanops.core.exceptions import ApplicationError


def flash_errors(request, errors: dict, labels: dict | None = None) -> None:
    """One message per error, prefixed with its field's label when it has one."""
    labels = labels or {}
    for name, items in errors.items():
        label = labels.get(name)
        for error in items if isinstance(items, list | tuple) else [items]:
            messages.error(request, f"{label}: {error}" if label else str(error))


def flash_form_errors(request, form) -> None:
    flash_errors(request, form.errors, {name: field.label for name, field in form.fields.items()})


def flash_application_error(request, exc: ApplicationError, labels: dict | None = None) -> None:
    """The field messages of EXC, or its message when it has none."""
    flash_errors(request, exc.extra or {"": [exc.message]}, labels)
