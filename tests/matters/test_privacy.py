"""PIPL for 一键表达 through the HTTP API: the export lists my matters (photos, coordinates),
my 我也遇到 and my ratings; erasure scrubs the reporter's text, place, coordinates and photos,
closes what is still open and keeps the rows the unit's history and counts need; retention
clears the coordinates of finished matters."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.utils import timezone

from cases.models import Case, CaseEvent
from images.models import Image
from matters.models import Matter, MatterPhoto, MatterSupport
from privacy.retention import purge_expired
from tests.community.conftest import make_image
from tests.conftest import Api
from tests.matters.conftest import LAT, LNG, created, url
from tests.trust.dump import plaintexts_found


def _marked(world) -> tuple[dict, dict]:
    tag = secrets.token_hex(4)
    marker = {"text": f"标记诉求{tag}楼道漏水", "place": f"标记{tag}号楼", "reason": f"标记{tag}仍在漏水"}
    photo = make_image(world.reporter)
    matter = created(Api(world.reporter), world.repair, text=marker["text"], place=marker["place"], photos=[photo.pk], insist=True)
    return matter, {**marker, "photo": photo.pk}


def test_export_lists_my_matters_supports_and_ratings_and_nothing_of_others(world):
    matter, marker = _marked(world)
    theirs = created(Api(world.neighbor), world.parking, text="邻居的诉求", place="北门")
    assert Api(world.reporter).post(url(theirs["id"], "plus-one")).status_code == 200
    unit = Api(world.property_worker)
    unit.post(url(matter["id"], "accept"))
    unit.post(url(matter["id"], "resolve"), {"answer": "已修好"})
    Api(world.reporter).post(url(matter["id"], "confirm"))
    comment = f"标记{marker['text'][4:12]}修得及时"
    assert Api(world.reporter).post(url(matter["id"], "rating"), {"score": 4, "comment": comment}).status_code == 200

    sections = Api(world.reporter).get("/api/v1/me/export").json()["sections"]
    mine = sections["matters"]["matters"]
    assert [(m["text"], m["place"], m["latitude"]) for m in mine] == [(marker["text"], marker["place"], float(LAT))]
    assert [p["image_id"] for p in sections["matters"]["matter_photos"]] == [marker["photo"]]
    assert [s["matter_id"] for s in sections["matters"]["matter_supports"]] == [theirs["id"]]
    case = sections["cases"]["cases"][0]
    assert (case["status"], case["rating"], case["answer"], case["rating_comment"]) == ("confirmed", 4, "已修好", comment)
    assert [e["kind"] for e in sections["cases"]["case_events"]] == ["submitted", "accepted", "resolved", "confirmed", "rated"]
    assert "邻居的诉求" not in str(sections)


def test_erasure_scrubs_the_reporter_and_keeps_what_the_unit_counts(world):
    matter, marker = _marked(world)
    answered, _ = _marked(world)
    unit = Api(world.property_worker)
    unit.post(url(answered["id"], "accept"))
    unit.post(url(answered["id"], "resolve"), {"answer": "已修好"})
    assert Api(world.reporter).post(url(answered["id"], "reopen"), {"reason": marker["reason"]}).status_code == 200
    theirs = created(Api(world.neighbor), world.parking, text="邻居的诉求", place="北门")
    Api(world.reporter).post(url(theirs["id"], "plus-one"))

    assert Api(world.reporter).delete("/api/v1/me").status_code == 204

    for matter_id in (matter["id"], answered["id"]):
        row = Matter.objects.select_related("case").get(pk=matter_id)
        assert (row.place, row.latitude, row.longitude) == ("", None, None)
        assert marker["text"] not in row.text and row.item_id == world.repair.pk and row.category_id == world.repair.category_id
        assert row.case.status == Case.Status.CLOSED and row.case.due_at is None  # nobody is left to confirm
        assert row.case.events.filter(kind=CaseEvent.Kind.CLOSED, reason__contains="注销").exists()
    assert not MatterPhoto.objects.filter(matter_id__in=[matter["id"], answered["id"]]).exists()
    assert not Image.objects.filter(pk=marker["photo"]).exists()
    assert not MatterSupport.objects.filter(user=world.reporter).exists()
    assert Matter.objects.get(pk=theirs["id"]).supporters_count == 1  # the count stays
    assert plaintexts_found([marker["text"], marker["place"], marker["reason"]]) == []
    # The unit still sees the matter in its history, scrubbed; the neighbor's matter is untouched.
    body = Api(world.property_worker).get(url(matter["id"])).json()
    assert body["status"] == "closed" and body["reporter_name"] == "已注销用户" and body["latitude"] is None
    assert Matter.objects.get(pk=theirs["id"]).text == "邻居的诉求"


def test_retention_clears_the_coordinates_of_finished_matters_only(world, settings):
    finished = created(Api(world.reporter), world.repair)
    open_one = created(Api(world.reporter), world.repair, place="7号楼", insist=True)
    Api(world.property_worker).post(url(finished["id"], "reject"), {"reason": "重复"})
    Case.objects.filter(matter__pk=finished["id"]).update(finished_at=timezone.now() - timedelta(days=400))

    done = purge_expired()

    assert done["matters.finished_locations"] == 1
    assert Matter.objects.get(pk=finished["id"]).latitude is None
    assert str(Matter.objects.get(pk=open_one["id"]).longitude) == LNG
    assert purge_expired()["matters.finished_locations"] == 0


def test_erasure_removes_the_rating_comment_and_keeps_the_score(world):
    matter, marker = _marked(world)
    unit = Api(world.property_worker)
    unit.post(url(matter["id"], "accept"))
    unit.post(url(matter["id"], "resolve"), {"answer": "已修好"})
    Api(world.reporter).post(url(matter["id"], "confirm"))
    comment = f"{marker['place']}修得及时"
    assert Api(world.reporter).post(url(matter["id"], "rating"), {"score": 5, "comment": comment}).status_code == 200

    assert Api(world.reporter).delete("/api/v1/me").status_code == 204

    case = Case.objects.get(matter__id=matter["id"])
    assert (case.rating, case.rating_comment, case.rating_comment_status) == (5, "", "")
    assert plaintexts_found([comment]) == []
