"""Matter text saved while WeChat's content check was unreachable: units work the case at once,
neighbors see the text only after moderation's re-check sweep passed it; a late risky verdict
removes it from view."""

from __future__ import annotations

from matters.models import Matter
from moderation.recheck import recheck_pending
from tests.conftest import Api
from tests.matters.conftest import created, url


def test_pending_text_waits_for_the_sweep(world, standin):
    standin.control("POST", "faults", {"path": "wxa/msg_sec_check", "kind": "errcode", "errcode": -1})
    ok = created(Api(world.reporter), world.repair, text="路灯坏了")
    bad = created(Api(world.reporter), world.repair, text="楼下有人赌博", place="3号楼", insist=True)
    assert ok["text_status"] == bad["text_status"] == "pending_check"
    neighbor = Api(world.neighbor)
    assert neighbor.get(url(ok["id"])).status_code == 404  # not public before a verdict
    assert Api(world.property_worker).get(url(ok["id"])).json()["text"] == "路灯坏了"  # the unit works it meanwhile

    assert recheck_pending(names=["matters.matter"])["still_pending"] == 2  # still down: nothing changes
    standin.control("DELETE", "faults")
    assert recheck_pending(names=["matters.matter"]) == {"published": 1, "review": 0, "removed": 1, "still_pending": 0}

    assert neighbor.get(url(ok["id"])).json()["text"] == "路灯坏了"
    assert neighbor.get(url(bad["id"])).status_code == 404
    assert Matter.objects.get(pk=bad["id"]).text_status == Matter.TextStatus.REMOVED
    assert recheck_pending(names=["matters.matter"]) == {"published": 0, "review": 0, "removed": 0, "still_pending": 0}
