"""The API plumbing is an app because idempotency keys are stored in the database."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "leadhub.api"
    label = "api"
    verbose_name = "API plumbing"

    def ready(self) -> None:
        from . import schema  # noqa: F401  (registers the OpenAPI auth extensions)
