"""Residents' journeys through the running system (make run's processes, HTTP and WebSocket only).

王五 joins 宝林一村: pending → 陈主任 approves on the console → the push and the socket frame
tell him → he reads the feed. 李四 (党员) posts with a photo; a neighbour reports it; 周版主
moderates it; the author hears about it; the neighbours' feeds change live.
"""

from __future__ import annotations

import pytest

from tests.journeys.people import ANY_TIME, ConsoleUser, assert_push, jpeg
from tests.journeys.system import wait_until

pytestmark = pytest.mark.slow


def neighborhood_of(person) -> dict:
    return person.get("/api/v1/me")["current_neighborhood"]


def test_a_new_resident_is_approved_and_reads_the_feed(system, people):
    wangwu = people("wangwu")
    [membership] = wangwu.get("/api/v1/memberships")["results"]
    assert membership["status"] == "pending"
    hood = membership["neighborhood"]
    # Pending: the feed answers like something that does not exist.
    answer = wangwu.call("GET", f"/api/v1/neighborhoods/{hood['id']}/feed", expect=404)
    assert set(answer) == {"error"} and answer["error"]["code"] and answer["error"]["message"]
    socket = wangwu.socket(f"user.{wangwu.id}")

    # 陈主任 approves him from the console's verification queue (a browser: session + CSRF).
    staff = ConsoleUser(system, "chenjuwei")
    queue_page = staff.page("/console/memberships/")
    assert f"/console/memberships/{membership['id']}/decide/" in queue_page
    decided = staff.form_post(f"/console/memberships/{membership['id']}/decide/", {"decision": "approve"},
                              page="/console/memberships/")
    assert decided.status_code == 302, decided.text[:500]

    # What 王五's phone shows: the frame at once, the WeChat push with every field filled.
    frame = socket.event(f"user.{wangwu.id}", "notification.created", "approval reaches his socket",
                         kind="membership_approved")
    page = f"pages/home/index?neighborhood_id={hood['id']}"
    assert frame["payload"]["page"] == page
    push = system.wait_for_message("wangwu", "demo-tpl-membership-result", page, "membership approved")
    assert_push(push, {"thing1": hood["name"], "phrase2": "已通过", "time3": ANY_TIME})
    socket.close()

    [membership] = wangwu.get("/api/v1/memberships")["results"]
    assert membership["status"] == "approved"
    inbox = wangwu.get("/api/v1/notifications")
    assert inbox["results"][0]["kind"] == "membership_approved" and inbox["unread_count"] >= 1

    feed = wangwu.get(f"/api/v1/neighborhoods/{hood['id']}/feed")
    assert feed["results"], "the feed is empty for a new member"
    titles = [post["title"] for post in feed["results"]]
    assert "本周三小区停水通知" in titles  # the committee's pinned notice
    for post in feed["results"]:
        for image in post["images"]:
            assert wangwu.fetch(image["thumbnail_url"]).status_code == 200, image


def test_a_party_members_photo_post_reaches_the_neighbours(system, people):
    lisi, zhangsan = people("lisi"), people("zhangsan")
    hood = neighborhood_of(lisi)
    stream = f"neighborhood.{hood['id']}"
    neighbour_socket = zhangsan.socket(stream)

    image = lisi.post("/api/v1/images", files={"file": ("stairs.jpg", jpeg(), "image/jpeg")})
    post = lisi.post("/api/v1/posts", {
        "neighborhood_id": hood["id"], "section": "neighbors", "title": "楼道堆物影响通行",
        "body": "12号楼三楼楼道堆了很多纸箱，请邻居们自觉清理。", "image_ids": [image["id"]],
    })
    neighbour_socket.event(stream, "post.created", "the post appears live for neighbours", post_id=post["id"])
    neighbour_socket.close()

    # 张三 sees it with 李四's 党员 badge and the photo once WeChat's media check passed it
    # (the stand-in's push reaches /wechat/callback on the server).
    def in_feed_with_photo() -> dict | None:
        feed = zhangsan.get(f"/api/v1/neighborhoods/{hood['id']}/feed")
        mine = next((p for p in feed["results"] if p["id"] == post["id"]), None)
        return mine if mine and mine["images"] else None

    seen = wait_until(in_feed_with_photo, "the photo shows in a neighbour's feed after the media check")
    assert any(badge["kind"] == "party_member" for badge in seen["author"]["badges"]), seen["author"]
    urls = [image["thumbnail_url"] for image in seen["images"]]
    for picture in zhangsan.get(f"/api/v1/posts/{post['id']}")["images"]:
        urls += [picture["url"], picture["thumbnail_url"]]
    for url in urls:
        fetched = zhangsan.fetch(url)
        assert fetched.status_code == 200, (url, fetched.status_code)
        assert fetched.headers["Content-Type"].startswith("image/"), (url, fetched.headers)


def test_a_reported_post_is_moderated_and_its_author_told(system, people):
    lisi, zhangsan, moderator = people("lisi"), people("zhangsan"), people("zhoubanzhu")
    hood = neighborhood_of(lisi)
    stream = f"neighborhood.{hood['id']}"
    neighbour_socket = zhangsan.socket(stream)
    author_socket = lisi.socket(f"user.{lisi.id}")
    post = lisi.post("/api/v1/posts", {
        "neighborhood_id": hood["id"], "section": "neighbors", "title": "转让闲置婴儿车",
        "body": "九成新婴儿车低价转让，联系12号楼502。",
    })
    neighbour_socket.event(stream, "post.created", "the post appears live for neighbours", post_id=post["id"])

    # 张三 reports it; the moderator finds it in the queue (API and console) and hides it.
    zhangsan.post(f"/api/v1/posts/{post['id']}/reports", {"reason": "spam", "note": "广告"})
    queue = moderator.get("/api/v1/moderation/queue")
    assert post["id"] in [item.get("post_id", item.get("id")) for item in queue["results"]], queue
    console = ConsoleUser(system, "zhoubanzhu")
    assert "转让闲置婴儿车" in console.page("/console/moderation/")
    moderator.post(f"/api/v1/posts/{post['id']}/moderation", {"action": "hide", "reason": "交易信息请发到闲置群"})

    neighbour_socket.event(stream, "post.hidden", "the hidden post leaves neighbours' screens live", post_id=post["id"])
    author_socket.event(f"user.{lisi.id}", "notification.created", "the author is told", kind="post_moderated")
    page = f"pages/post/detail?id={post['id']}"
    push = system.wait_for_message("lisi", "demo-tpl-post-moderated", page, "post moderated")
    assert_push(push, {"thing1": "转让闲置婴儿车", "phrase2": "已隐藏", "thing3": "交易信息请发到闲置群"})
    feed = zhangsan.get(f"/api/v1/neighborhoods/{hood['id']}/feed")
    assert post["id"] not in [p["id"] for p in feed["results"]]
    zhangsan.call("GET", f"/api/v1/posts/{post['id']}", expect=404)
    neighbour_socket.close()
    author_socket.close()


def test_a_residents_post_gets_the_committees_official_answer(system, people):
    zhangsan, staff = people("zhangsan"), people("chenjuwei")
    hood = neighborhood_of(zhangsan)
    staff_socket = staff.socket(f"neighborhood.{hood['id']}")
    post = zhangsan.post("/api/v1/posts", {
        "neighborhood_id": hood["id"], "section": "neighbors", "title": "5号楼门禁坏了",
        "body": "5号楼单元门禁刷卡没反应，老人进出不方便。",
    })
    staff_socket.event(f"neighborhood.{hood['id']}", "post.created", "committee sees the new post", post_id=post["id"])
    assert post["id"] in [p["id"] for p in staff.get("/api/v1/posts/unanswered")["results"]]
    staff.post(f"/api/v1/posts/{post['id']}/comments", {"body": "已报修，明天上午物业来修", "official": True})
    push = system.wait_for_message("zhangsan", "demo-tpl-post-answered", f"pages/post/detail?id={post['id']}",
                                   "post answered")
    assert_push(push, {"thing1": "5号楼门禁坏了", "thing2": "已报修，明天上午物业来修", "time3": ANY_TIME})
    assert post["id"] not in [p["id"] for p in staff.get("/api/v1/posts/unanswered")["results"]]
    staff_socket.close()
