from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallbacksConfig(AppConfig):
    name = "callbacks"
    verbose_name = _("电话回访")

    def ready(self) -> None:
        from callbacks.casework_views import casework_ready

        casework_ready()
