"""Re-encrypt every stored secret under the newest key in ALLACCESS_ENCRYPTION_KEYS."""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from allaccess_api.crypto import EncryptedTextField

BATCH_SIZE = 500


def encrypted_fields(model):
    return [field.name for field in model._meta.concrete_fields if isinstance(field, EncryptedTextField)]


class Command(BaseCommand):
    help = (
        "Re-encrypt stored tokens and secrets with the first key of ALLACCESS_ENCRYPTION_KEYS. "
        "Run it after putting a new key first; afterwards the old keys can be removed."
    )

    def handle(self, *args, **options):
        for model in apps.get_app_config("allaccess_api").get_models():
            fields = encrypted_fields(model)
            if not fields:
                continue
            count = self.rotate_model(model, fields)
            self.stdout.write(f"{model._meta.label}: re-encrypted {count} rows.")

    def rotate_model(self, model, fields):
        # Loading decrypts with whichever key fits; saving encrypts with the newest one.
        count = 0
        batch = []
        with transaction.atomic():
            for instance in model.objects.select_for_update().only("pk", *fields).iterator(chunk_size=BATCH_SIZE):
                batch.append(instance)
                if len(batch) == BATCH_SIZE:
                    model.objects.bulk_update(batch, fields)
                    count += len(batch)
                    batch = []
            if batch:
                model.objects.bulk_update(batch, fields)
                count += len(batch)
        return count
