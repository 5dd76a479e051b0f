"""services.beneficiary_sql.live_beneficiary returns what the ORM lookup returns: the live elder
by id or the owner's default elder, with their neighborhood."""

from __future__ import annotations

import pytest
from django.utils import timezone

from residents.models import Beneficiary
from services.beneficiary_sql import live_beneficiary
from tests import factories as f


def _orm(**where) -> Beneficiary | None:
    return Beneficiary.objects.select_related("neighborhood").filter(deleted_at__isnull=True, **where).order_by("pk").first()


def _fields(obj) -> dict:
    return {field.attname: getattr(obj, field.attname) for field in type(obj)._meta.concrete_fields}


def test_the_elder_and_neighborhood_are_the_orm_ones(world):
    other = f.BeneficiaryFactory(owner=world.son, neighborhood=world.other_neighborhood, is_default=False,
                                 address="塘后路1号", health_notes="")
    for found, expected in (
        (live_beneficiary(pk=world.mother.pk), _orm(pk=world.mother.pk)),
        (live_beneficiary(pk=other.pk), _orm(pk=other.pk)),
        (live_beneficiary(default_of=world.son.pk), _orm(owner_id=world.son.pk, is_default=True)),
    ):
        assert found is not None and _fields(found) == _fields(expected)
        # The carried fields, and a field not carried (it loads on access, like a deferred field).
        assert _fields(found.neighborhood) == _fields(expected.neighborhood)
    assert live_beneficiary(default_of=world.son.pk).pk == world.mother.pk


def test_removed_elders_and_unknown_ids_are_none(world):
    assert live_beneficiary(default_of=world.neighbor.pk) is None
    assert live_beneficiary(pk=world.mother.pk + 1000) is None
    Beneficiary.objects.filter(pk=world.mother.pk).update(deleted_at=timezone.now())
    assert live_beneficiary(pk=world.mother.pk) is None
    assert live_beneficiary(default_of=world.son.pk) is None


def test_exactly_one_way_to_look_up():
    with pytest.raises(TypeError):
        live_beneficiary()
    with pytest.raises(TypeError):
        live_beneficiary(pk=1, default_of=1)
