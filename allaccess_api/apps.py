"""Django app configuration."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AllAccessAPIConfig(AppConfig):
    name = "allaccess_api"
    verbose_name = _("Social sign-in")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from allaccess_api import checks  # noqa: F401  (registers the system checks)
