"""MEDIA_STORAGE=s3 puts uploads on an S3-compatible bucket, so any server can serve them."""

import os
import subprocess
import sys

from django.conf import settings

PROBE = (
    "import django; django.setup();"
    "from django.core.files.storage import storages; s = storages['default'];"
    "print(type(s).__name__, s.bucket_name, s.endpoint_url)"
)


def _run(**env):
    full = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_DEBUG": "true", **env}
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=settings.BASE_DIR, env=full, capture_output=True, text=True
    )


def test_s3_media_storage_comes_from_the_environment():
    result = _run(MEDIA_STORAGE="s3", S3_BUCKET="stq-media", S3_ENDPOINT_URL="http://127.0.0.1:9000")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["S3Storage", "stq-media", "http://127.0.0.1:9000"]


def test_an_unknown_media_storage_stops_start_up_with_its_name():
    result = _run(MEDIA_STORAGE="ftp")
    assert result.returncode != 0
    assert "MEDIA_STORAGE must be filesystem or s3" in result.stderr
