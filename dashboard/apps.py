from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Dashboard"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the import task in every process (web included), so that enqueueing it
        # by name honours Celery's own settings (task_always_eager among them).
        from . import tasks  # noqa: F401
