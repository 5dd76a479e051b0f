import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle and lockout counters live in the cache; each story starts from zero."""
    cache.clear()
    yield
    cache.clear()
