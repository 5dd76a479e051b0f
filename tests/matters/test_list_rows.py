"""The matter lists are read as plain rows (matters/queries.py `list_rows`), not model instances;
each list item must be the detail's body (built from the matter's model instance) byte for
byte, for every kind of viewer — reporter, neighbor, unit, joint unit, staff, officer — and every
field a matter can carry: photos passed and pending, answer photos, a hidden name, held text, a
supervising unit, joint units, a rating, coordinates, a merge. And the queue, which reads no
visibility subqueries, lists only what the viewer may see."""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder

from cases.models import Case
from matters.access import visible_matters_for
from matters.models import Matter
from tests.conftest import Api
from tests.matters.conftest import created, url
from tests.matters.test_answer_photos import _pass, _upload


def _dumped(value) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=False)


def _listed_equals_detail(user, **params) -> int:
    api = Api(user)
    items = api.get("/api/v1/matters", params).json()["results"]
    for item in items:
        detail = api.get(url(item["id"])).json()
        detail.pop("timeline"), detail.pop("allowed_actions")
        assert _dumped(item) == _dumped(detail), (user.nickname, params, item["id"])
    return len(items)


def test_every_list_item_is_the_detail_body_byte_for_byte(world, standin, django_capture_on_commit_callbacks):
    reporter, unit = Api(world.reporter), Api(world.property_worker)
    with django_capture_on_commit_callbacks(execute=True):
        passed, pending = _upload(reporter), _upload(reporter)
        answer_photo = _upload(unit)
    _pass(standin, passed)
    _pass(standin, answer_photo)
    full = created(reporter, world.repair, photos=[passed, pending], hide_name=True, place="1号楼")
    plain = created(reporter, world.parking, latitude=None, longitude=None, place="2号楼", insist=True)
    answered = created(reporter, world.repair, place="3号楼", insist=True)
    later = created(reporter, world.repair, place="3号楼", insist=True)
    Api(world.neighbor).post(url(full["id"], "plus-one"))
    unit.post(url(answered["id"], "accept"))
    unit.post(url(answered["id"], "resolve"), {"answer": "已修好", "photos": [answer_photo]})
    reporter.post(url(answered["id"], "confirm"))
    reporter.post(url(answered["id"], "rate"), {"score": 4, "comment": "很快"})
    unit.post(url(full["id"], "accept"))
    assert unit.post(url(full["id"], "joint"), {"units": [world.urban.id], "reason": "占道"}).status_code == 200
    assert Api(world.staff).post(url(later["id"], "merge"), {"into": full["id"], "reason": "同一处"}).status_code == 200
    Case.objects.filter(matter__id=plain["id"]).update(supervising_unit=world.grid)
    Matter.objects.filter(pk=plain["id"]).update(text_status=Matter.TextStatus.PENDING_REVIEW)

    counts = {
        "reporter": _listed_equals_detail(world.reporter, scope="mine"),
        "neighbor mine": _listed_equals_detail(world.neighbor, scope="mine"),
        "neighbor": _listed_equals_detail(world.neighbor, scope="neighborhood"),
        "unit": _listed_equals_detail(world.property_worker, scope="queue"),
        "joint": _listed_equals_detail(world.urban_worker, scope="queue"),
        "grid": _listed_equals_detail(world.grid_worker, scope="queue"),
        "staff": _listed_equals_detail(world.staff, scope="queue"),
        "staff all": _listed_equals_detail(world.staff, scope="neighborhood"),
        "officer": _listed_equals_detail(world.officer, scope="queue"),
    }
    assert counts == {"reporter": 4, "neighbor mine": 1, "neighbor": 3, "unit": 1, "joint": 2, "grid": 1, "staff": 2,
                      "staff all": 4, "officer": 2}


def test_the_queue_lists_only_what_the_viewer_may_see(world):
    for n in range(3):
        created(Api(world.reporter), world.repair, place=f"{n}号楼", insist=True)
    created(Api(world.reporter), world.parking, place="5号楼", insist=True)
    for user in (world.property_worker, world.urban_worker, world.grid_worker, world.committee_worker, world.staff,
                 world.officer, world.other_officer, world.reporter, world.outsider):
        queue = {m["id"] for m in Api(user).get("/api/v1/matters", {"scope": "queue", "limit": 100}).json()["results"]}
        assert queue <= set(visible_matters_for(user).values_list("id", flat=True)), user.nickname
    assert Api(world.other_officer).get("/api/v1/matters", {"scope": "queue"}).json()["results"] == []


def test_names_come_from_the_memo_and_a_rename_shows_at_once(world):
    """The list reads category, item, neighborhood and unit names from a per-process memo
    (matters.queries.NAMES), not four joins: the second page asks for no names, and a rename
    saved in this process clears the memo, so the list never shows a name the detail does not."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cases.models import ResponsibleUnit

    for n in range(3):
        created(Api(world.reporter), world.repair, place=f"{n}号楼", insist=True)
    api = Api(world.property_worker)
    assert api.get("/api/v1/matters", {"scope": "mine"}).json()["results"] == []  # the token's first use is written
    with CaptureQueriesContext(connection) as cold:
        first = api.get("/api/v1/matters", {"scope": "queue"}).json()["results"]
    with CaptureQueriesContext(connection) as warm:
        assert api.get("/api/v1/matters", {"scope": "queue"}).json()["results"] == first
    named = [q["sql"] for q in cold.captured_queries if q not in warm.captured_queries]
    assert len(cold) - len(warm) == 4, named  # category, item, neighborhood, unit: one query each, for the page
    unit = ResponsibleUnit.objects.get(pk=first[0]["unit"]["id"])
    unit.name = "新物业公司"
    unit.save()
    world.repair.name = "路灯维修"
    world.repair.save()
    item = api.get("/api/v1/matters", {"scope": "queue"}).json()["results"][0]
    assert (item["unit"]["name"], item["item"]["name"]) == ("新物业公司", "路灯维修")
    detail = api.get(url(item["id"])).json()
    assert (detail["unit"]["name"], detail["item"]["name"]) == ("新物业公司", "路灯维修")
