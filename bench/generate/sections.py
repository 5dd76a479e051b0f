"""The generator's sections in dependency order: (name, why-not-available or "", run)."""

from __future__ import annotations

from django.apps import apps

from . import people


def _run(module: str, function: str):
    """Import a section only when it runs: its app's models may not exist on this branch."""

    def run(loader, world):
        from importlib import import_module

        return getattr(import_module(f"bench.generate.{module}"), function)(loader, world)

    return run


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
    ("community", _needs("community.Post", "community.Comment", "community.Like"), _run("community", "make_community")),
    # Matters before services: a request's case goes to its neighborhood's 居委 unit, which sits
    # under the street's grid unit the matters section makes.
    ("matters", _needs("matters.Matter", "cases.Case"), _run("matters", "make_matters")),
    ("services", _needs("services.ServiceRequest", "services.ServiceItem", "cases.Case"), _run("services", "make_services")),
    ("deliberation", _needs("deliberation.Topic", "deliberation.Ballot"), _run("deliberation", "make_deliberation")),
    ("notifications", _needs("notifications.Notification"), _run("notifications", "make_notifications")),
]
