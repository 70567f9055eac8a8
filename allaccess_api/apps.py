"""Django app configuration."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AllAccessAPIConfig(AppConfig):
    name = "allaccess_api"
    verbose_name = _("Social sign-in")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.apps import apps
        from django.db.models.signals import pre_save

        from allaccess_api import checks  # noqa: F401  (registers the system checks)
        from allaccess_api.tokens import hash_outstanding_token

        if apps.is_installed("rest_framework_simplejwt.token_blacklist"):
            from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

            pre_save.connect(hash_outstanding_token, sender=OutstandingToken, dispatch_uid="allaccess_hash_token")
