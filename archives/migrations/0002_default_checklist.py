"""The default credit-file checklist (auto loans), used for every product without its own."""

from django.db import migrations

from archives.checklist import install_default_checklist


def forwards(apps, schema_editor):
    install_default_checklist(apps.get_model("archives", "ChecklistItem"))


def backwards(apps, schema_editor):
    from archives.checklist import DEFAULT_CHECKLIST

    codes = [code for code, *_rest in DEFAULT_CHECKLIST]
    apps.get_model("archives", "ChecklistItem").objects.filter(product=None, code__in=codes).delete()


class Migration(migrations.Migration):
    dependencies = [("archives", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
