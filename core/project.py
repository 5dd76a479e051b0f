"""Which installed apps are ours: the packages at the top of the repository. Not "anything under
BASE_DIR": a virtualenv made inside the checkout (`make install`, CI's clean clone) puts every
third-party app there too."""

from __future__ import annotations

from pathlib import Path

from django.apps import AppConfig, apps
from django.conf import settings


def project_apps() -> list[AppConfig]:
    base = Path(settings.BASE_DIR).resolve()
    return [config for config in apps.get_app_configs() if Path(config.path).resolve().parent == base]
