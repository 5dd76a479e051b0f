"""One tap is `{item}` alone: give the meal items' diet and meal-slot fields their defaults
(普通; the next meal slot), which services.extra applies when a requester has no earlier answer."""

from django.db import migrations

DEFAULTS = {"diet": "普通", "time_slot": "next_meal_slot"}


def add_defaults(apps, schema_editor):
    ServiceItem = apps.get_model("services", "ServiceItem")
    for item in ServiceItem.objects.all():
        changed = False
        for definition in item.fields:
            default = DEFAULTS.get(definition.get("key"))
            if default is not None and "default" not in definition:
                definition["default"] = default
                changed = True
        if changed:
            item.save(update_fields=["fields"])


def remove_defaults(apps, schema_editor):
    ServiceItem = apps.get_model("services", "ServiceItem")
    for item in ServiceItem.objects.all():
        for definition in item.fields:
            if definition.get("key") in DEFAULTS:
                definition.pop("default", None)
        item.save(update_fields=["fields"])


class Migration(migrations.Migration):
    dependencies = [("services", "0005_satisfaction_daily")]
    operations = [migrations.RunPython(add_defaults, remove_defaults)]
