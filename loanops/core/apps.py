from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "loanops.core"
    label = "core"
    verbose_name = "Core"
