import pytest
from django.core.cache import cache

from core.ratelimit import reset_local


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle and lockout counters live in the cache; each story starts from zero."""
    cache.clear()
    reset_local()  # the throttles' counters when the cache is not Redis
    yield
    cache.clear()
