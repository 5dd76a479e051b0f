"""Image moves from core to the images app: the table `core_image` stays where it is with every row.

Only Django's idea of which app owns the model changes (SeparateDatabaseAndState with no
database operation); core/migrations/0006_image_moved_to_images_app.py drops it from core's state
once the apps that point at it point at images.Image. The content type follows, so admin
permissions and log entries keep pointing at the same model.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def content_type_to_images(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="images", model="image").exists():
        ContentType.objects.filter(app_label="core", model="image").update(app_label="images")


def content_type_to_core(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="core", model="image").exists():
        ContentType.objects.filter(app_label="images", model="image").update(app_label="core")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0005_idempotency_response_encrypted"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Image",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("file", models.FileField(max_length=200, upload_to="", verbose_name="原图")),
                        ("thumbnail", models.FileField(max_length=200, upload_to="", verbose_name="缩略图")),
                        ("format", models.CharField(max_length=8, verbose_name="格式")),
                        ("width", models.PositiveIntegerField(verbose_name="宽")),
                        ("height", models.PositiveIntegerField(verbose_name="高")),
                        ("size_bytes", models.PositiveIntegerField(verbose_name="大小(字节)")),
                        ("status", models.CharField(choices=[("pending_check", "待送审"), ("checking", "审核中"), ("passed", "已通过"), ("review", "待人工复核"), ("rejected", "未通过")], default="pending_check", max_length=16, verbose_name="审核状态")),
                        ("trace_id", models.CharField(blank=True, max_length=64, null=True, unique=True)),
                        ("check_attempts", models.PositiveSmallIntegerField(default=0, verbose_name="送审次数")),
                        ("label", models.PositiveIntegerField(blank=True, null=True, verbose_name="审核标签")),
                        ("checked_at", models.DateTimeField(blank=True, null=True, verbose_name="审核时间")),
                        ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="上传时间")),
                        ("owner", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="images", to=settings.AUTH_USER_MODEL, verbose_name="上传者")),
                    ],
                    options={
                        "verbose_name": "图片",
                        "verbose_name_plural": "图片",
                        "db_table": "core_image",
                        "indexes": [
                            models.Index(fields=["status", "created_at"], name="core_image_status_acc508_idx"),
                            models.Index(fields=["owner", "-created_at"], name="core_image_owner_i_d3e4de_idx"),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_to_images, content_type_to_core, elidable=True),
    ]
