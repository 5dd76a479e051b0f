"""Which domain apps have landed on this branch.

The console is built while the apps are merged one by one; a screen whose app's actions
are not here yet is left out of the URLs and the home page instead of failing. Once every
app is on main these checks are all true and can be deleted.
"""

from __future__ import annotations

import importlib.util
from functools import cache


@cache
def landed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def services() -> bool:
    return landed("services.actions") and landed("services.access")


def community() -> bool:
    return landed("community.actions") and landed("community.access")


def deliberation() -> bool:
    return landed("deliberation.actions") and landed("deliberation.access")


def residents_actions() -> bool:
    return landed("residents.actions")
