from django.apps import AppConfig


class CallbackOfficeConfig(AppConfig):
    name = "callback_office"
    verbose_name = "回访办"

    def ready(self) -> None:
        from callback_office import audit

        audit.register()
