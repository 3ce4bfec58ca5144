from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CollectionsConfig(AppConfig):
    # The package cannot be called `collections` (the standard library's module would
    # shadow it), but the app keeps the design card's label for tables, URLs and templates.
    name = "loan_collections"
    label = "collections"
    verbose_name = _("Collections")
