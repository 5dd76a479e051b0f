"""Moderation, 待回复 and announcements from the console."""

import re

from community.models import Comment, ContentStatus, ModerationLog, Post, Report
from tests import factories as f


def make_post(region, author, *, status=ContentStatus.PUBLISHED, needs_answer=True, **kw) -> Post:
    return Post.objects.create(
        region=region,
        author=author,
        section="neighbors",
        title=kw.pop("title", "楼道灯坏了"),
        body=kw.pop("body", "3号楼二楼的灯不亮"),
        status=status,
        needs_answer=needs_answer,
        **kw,
    )


def test_moderator_hides_a_reported_post_and_the_log_shows_it(neighborhood, moderator, console_for):
    author = f.resident(neighborhood)
    post = make_post(neighborhood, author, title="卖保健品")
    for _ in range(2):
        Report.objects.create(reporter=f.resident(neighborhood), post=post, reason="spam")
    client = console_for(moderator)
    queue = client.get("/console/moderation/").content.decode()
    assert f'data-post="{post.id}"' in queue and "垃圾广告×2" in queue
    client.post(f"/console/moderation/post/{post.id}/", {"action": "hide", "reason": "广告"})
    post.refresh_from_db()
    assert post.status == ContentStatus.HIDDEN
    entry = ModerationLog.objects.get(post=post, action="hide")
    assert entry.actor == moderator and entry.reason == "广告"
    assert "广告" in client.get("/console/moderation/log/").content.decode()


def test_moderator_restores_a_comment(neighborhood, moderator, console_for):
    post = make_post(neighborhood, f.resident(neighborhood))
    comment = Comment.objects.create(
        post=post, author=f.resident(neighborhood), body="？", status=ContentStatus.PENDING_REVIEW
    )
    console_for(moderator).post(f"/console/moderation/comment/{comment.id}/", {"action": "restore"})
    comment.refresh_from_db()
    assert comment.status == ContentStatus.PUBLISHED


def test_moderating_twice_tells_the_second_moderator(neighborhood, moderator, committee_staff, console_for):
    post = make_post(neighborhood, f.resident(neighborhood))
    console_for(moderator).post(f"/console/moderation/post/{post.id}/", {"action": "hide"})
    response = console_for(committee_staff).post(
        f"/console/moderation/post/{post.id}/", {"action": "hide"}, follow=True
    )
    assert "状态已变化" in response.content.decode()
    assert ModerationLog.objects.filter(post=post, action="hide").count() == 1


def test_officer_of_other_street_cannot_see_or_moderate(neighborhood, other_officer, console_for):
    post = make_post(neighborhood, f.resident(neighborhood))
    Report.objects.create(reporter=f.resident(neighborhood), post=post, reason="abuse")
    client = console_for(other_officer)
    assert f'data-post="{post.id}"' not in client.get("/console/moderation/").content.decode()
    assert client.post(f"/console/moderation/post/{post.id}/", {"action": "hide"}).status_code == 404
    assert client.post(f"/console/unanswered/{post.id}/reply/", {"body": "收到"}).status_code == 404
    post.refresh_from_db()
    assert post.status == ContentStatus.PUBLISHED


def test_staff_answers_an_unanswered_post_officially(neighborhood, committee_staff, console_for, wechat_standin):
    post = make_post(neighborhood, f.resident(neighborhood))
    client = console_for(committee_staff)
    assert f'data-post="{post.id}"' in client.get("/console/unanswered/").content.decode()
    client.post(f"/console/unanswered/{post.id}/reply/", {"body": "已通知物业今天修好"})
    post.refresh_from_db()
    assert post.answered_at is not None and post.answered_by == committee_staff
    assert f'data-post="{post.id}"' not in client.get("/console/unanswered/").content.decode()


def test_moderator_who_is_not_staff_cannot_reply_officially_or_announce(neighborhood, moderator, console_for):
    client = console_for(moderator)
    assert client.get("/console/unanswered/").status_code == 403
    assert client.get("/console/announce/").status_code == 403


def test_officer_broadcasts_an_announcement_to_the_street(neighborhood, street_officer, console_for, wechat_standin):
    street = neighborhood.parent
    client = console_for(street_officer)
    page = client.get("/console/announce/").content.decode()
    assert f"broadcast:{street.id}" in page
    client.post(
        "/console/announce/",
        {"target": f"broadcast:{street.id}", "section": "notice", "title": "防台风通知", "body": "请收好阳台物品"},
    )
    post = Post.objects.get(title="防台风通知")
    assert post.scope == Post.Scope.STREET and post.region == street and post.author == street_officer


def test_committee_staff_cannot_broadcast_to_a_street(neighborhood, committee_staff, console_for, wechat_standin):
    response = console_for(committee_staff).post(
        "/console/announce/",
        {"target": f"broadcast:{neighborhood.parent_id}", "section": "notice", "title": "越权", "body": "x"},
    )
    assert response.status_code == 404
    assert not Post.objects.filter(title="越权").exists()


def test_home_counts_unanswered_and_reported(neighborhood, committee_staff, console_for):
    make_post(neighborhood, f.resident(neighborhood))
    reported = make_post(neighborhood, f.resident(neighborhood), needs_answer=False)
    Report.objects.create(reporter=f.resident(neighborhood), post=reported, reason="rumor")
    page = console_for(committee_staff).get("/console/").content.decode()
    assert 'data-card="unanswered"' in page and 'data-card="reported"' in page


def _card_count(page: str, key: str) -> int:
    match = re.search(rf'data-card="{key}"[^>]*>\s*<a[^>]*>\s*<span class="count" data-count="(\d+)"', page)
    assert match, key
    return int(match.group(1))


def test_home_counts_are_the_community_queues_counts(neighborhood, other_neighborhood, committee_staff, console_for):
    make_post(neighborhood, f.resident(neighborhood))
    answered = make_post(neighborhood, f.resident(neighborhood), title="已回复")
    Post.objects.filter(pk=answered.pk).update(answered_at=answered.created_at)
    make_post(other_neighborhood, f.resident(other_neighborhood))
    reported = make_post(neighborhood, f.resident(neighborhood), needs_answer=False)
    comment = Comment.objects.create(
        post=reported, author=f.resident(neighborhood), body="广告链接", status=ContentStatus.PUBLISHED
    )
    Report.objects.create(reporter=f.resident(neighborhood), post=reported, comment=comment, reason="spam")
    make_post(neighborhood, f.resident(neighborhood), status=ContentStatus.PENDING_REVIEW, needs_answer=False)
    page = console_for(committee_staff).get("/console/").content.decode()
    assert _card_count(page, "unanswered") == 1
    assert _card_count(page, "reported") == 2  # the held post and the reported comment


def test_an_official_reply_loses_bidi_and_zero_width_characters(neighborhood, committee_staff, console_for, wechat_standin):
    post = make_post(neighborhood, f.resident(neighborhood))
    client = console_for(committee_staff)
    client.post(f"/console/unanswered/{post.id}/reply/", {"body": "\u202e已通知\u200b物业\u2066修好\u2069\x07"})
    assert Comment.objects.get(post=post).body == "已通知物业修好"
