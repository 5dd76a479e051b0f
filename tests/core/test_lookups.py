"""`__any` (core/lookups.py): the rows `__in` gives, as one array parameter on PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from residents.models import ApiToken, Membership, Region, User
from tests import factories as f

pytestmark = pytest.mark.django_db


def _both(queryset, lookup: str, values):
    """The rows of `lookup__any=values` and of `lookup__in=values`, and the SQL of the first."""
    with CaptureQueriesContext(connection) as queries:
        any_rows = sorted(queryset.filter(**{f"{lookup}__any": values}).values_list("pk", flat=True))
    in_rows = sorted(queryset.filter(**{f"{lookup}__in": values}).values_list("pk", flat=True))
    return any_rows, in_rows, [q["sql"] for q in queries.captured_queries]


def test_the_same_rows_as_in_for_keys_foreign_keys_and_text(neighborhood, other_neighborhood):
    people = [f.resident(neighborhood) for _ in range(3)] + [f.resident(other_neighborhood)]
    users = User.objects.all()
    wanted = [people[0].pk, people[2].pk, 10**9]

    any_rows, in_rows, sql = _both(users, "pk", wanted)
    assert any_rows == in_rows == sorted([people[0].pk, people[2].pk])
    if connection.vendor == "postgresql":
        assert len(sql) == 1 and "= ANY(" in sql[0] and " IN (" not in sql[0], sql
    else:
        assert " IN (" in sql[0], sql

    # A foreign key, by ids and by objects; a text column with strings.
    members = Membership.objects.all()
    any_rows, in_rows, _ = _both(members, "user_id", wanted)
    assert any_rows == in_rows and len(any_rows) == 2
    by_objects = sorted(members.filter(user__any=[people[1], people[3]]).values_list("user_id", flat=True))
    assert by_objects == sorted([people[1].pk, people[3].pk])
    regions = Region.objects.all()
    any_rows, in_rows, _ = _both(regions, "name", [neighborhood.name, "没有这个地方"])
    assert any_rows == in_rows == [neighborhood.pk]


def test_an_empty_list_none_and_strings_of_digits(neighborhood):
    user = f.resident(neighborhood)
    users = User.objects.all()
    with CaptureQueriesContext(connection) as queries:
        assert list(users.filter(pk__any=[])) == []
    assert len(queries) == 0  # as `__in`: nothing to ask
    assert list(users.filter(pk__any=[None, user.pk]).values_list("pk", flat=True)) == [user.pk]
    # Values the field has to prepare (digits as text) take the prepared path, not the fast one.
    assert list(users.filter(pk__any=[str(user.pk)]).values_list("pk", flat=True)) == [user.pk]
    token = ApiToken.issue(user)[0]
    assert list(ApiToken.objects.filter(user__any=[user]).values_list("pk", flat=True)) == [token.pk]
