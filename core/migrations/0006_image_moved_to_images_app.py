# Image now belongs to the images app (images/migrations/0001_initial.py), table core_image
# unchanged: core forgets the model in its migration state only; no SQL runs, no row moves.
# After the apps that point at images point at images.Image.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0005_idempotency_response_encrypted"),
        ("images", "0001_initial"),
        ("community", "0006_image_moved_to_images_app"),
        ("deliberation", "0005_image_moved_to_images_app"),
        ("services", "0009_image_moved_to_images_app"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Image")],
            database_operations=[],
        ),
    ]
