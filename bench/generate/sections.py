"""The generator's sections in dependency order: (name, why-not-available or "", run)."""

from __future__ import annotations

from django.apps import apps

from . import people


def _needs(*labels: str):
    def check() -> str:
        for label in labels:
            app, model = label.split(".")
            try:
                apps.get_model(app, model)
            except LookupError:
                return f"{label} has not landed on this branch"
        return ""

    return check


SECTIONS = [
    ("regions", _needs("residents.Region"), people.make_regions),
    ("people", _needs("residents.User", "residents.Membership", "residents.Role"), people.make_people),
]
