"""One running system per journey module (and per backend): see system.py."""

from __future__ import annotations

import pytest

from tests.journeys.people import Person
from tests.journeys.system import System, backends_from_environment

BACKENDS = backends_from_environment()


@pytest.fixture(scope="session")
def _backends():
    yield
    for backend in BACKENDS:
        backend.cleanup()


@pytest.fixture(scope="module", params=BACKENDS, ids=[b.name for b in BACKENDS])
def system(request, _backends):
    """`make run`'s processes on a fresh database of this module's own, stopped when the module ends."""
    running = System(request.param)
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def people(system):
    """Demo personas logged in through the stand-in, once per module, each having accepted
    every subscribe-message template they can receive."""
    logged_in: dict[str, Person] = {}

    def person(openid: str) -> Person:
        if openid not in logged_in:
            logged_in[openid] = Person(system, openid)
            logged_in[openid].accept_every_template()
        return logged_in[openid]

    return person
