"""Delete pending authorizations past their expiry."""

from django.core.management.base import BaseCommand

from allaccess_api.flows import purge_expired_authorizations


class Command(BaseCommand):
    help = "Delete expired pending authorizations (flows started and never finished)."

    def handle(self, *args, **options):
        deleted = purge_expired_authorizations()
        self.stdout.write(f"Deleted {deleted} expired pending authorizations.")
