"""The 工作台 counts come from community's own filters; a moderator lifts a mute."""

from __future__ import annotations

import pytest

from community.actions import do_create_comment, do_mute_user, do_report, do_unmute_user
from community.models import ContentStatus, ModerationLog, Mute
from community.queries import (
    moderation_queue_count_for,
    moderation_queue_page,
    unanswered_count_for,
    unanswered_page,
)
from core.errors import Conflict
from tests.community.conftest import make_post
from tests.conftest import assert_error


def test_unanswered_count_matches_the_unanswered_list(
    zhangsan, chenjuwei, liujiedao, zhaoliu, neighborhood, other_neighborhood
):
    make_post(neighborhood, zhangsan, title="楼道灯坏了")
    make_post(neighborhood, zhangsan, title="垃圾房异味")
    answered = make_post(neighborhood, zhangsan, title="已回复的")
    answered.answered_at = answered.created_at
    answered.save(update_fields=["answered_at"])
    make_post(neighborhood, zhangsan, status=ContentStatus.HIDDEN, title="被隐藏的")
    make_post(other_neighborhood, zhaoliu, title="别的居委")
    listed = unanswered_page(viewer=chenjuwei, neighborhood_id=None, cursor=None, limit=50).items
    assert unanswered_count_for(chenjuwei) == len(listed) == 2
    assert unanswered_count_for(liujiedao) == 2
    assert unanswered_count_for(zhangsan) == 0


def test_moderation_count_covers_posts_and_comments_in_the_queue(
    zhangsan, lisi, zhoubanzhu, chenjuwei, zhaoliu, other_neighborhood, neighborhood, standin
):
    reported = make_post(neighborhood, zhangsan, title="有人举报")
    do_report(actor=lisi, post=reported, reason="spam")
    make_post(neighborhood, zhangsan, status=ContentStatus.PENDING_REVIEW, title="待审")
    make_post(neighborhood, zhangsan, title="正常帖子")
    comment = do_create_comment(post=reported, actor=zhangsan, body="评论一下")
    do_report(actor=lisi, post=reported, comment=comment, reason="abuse")
    make_post(other_neighborhood, zhaoliu, status=ContentStatus.PENDING_REVIEW, title="别处待审")
    posts = moderation_queue_page(viewer=zhoubanzhu, neighborhood_id=None, kind="post", cursor=None, limit=50).items
    comments = moderation_queue_page(
        viewer=zhoubanzhu, neighborhood_id=None, kind="comment", cursor=None, limit=50
    ).items
    assert (len(posts), len(comments)) == (2, 1)
    assert moderation_queue_count_for(zhoubanzhu) == moderation_queue_count_for(chenjuwei) == 3
    assert moderation_queue_count_for(zhangsan) == 0


def test_moderator_lifts_a_mute_and_the_resident_may_post_again(api_for, zhangsan, zhoubanzhu, neighborhood, standin):
    do_mute_user(neighborhood=neighborhood, actor=zhoubanzhu, user_id=zhangsan.pk, hours=24, reason="刷屏")
    body = {"neighborhood_id": neighborhood.id, "section": "neighbors", "title": "求助", "body": "楼下有积水"}
    assert_error(api_for(zhangsan).post("/api/v1/posts", body), 403, "muted")
    assert do_unmute_user(neighborhood=neighborhood, actor=zhoubanzhu, user_id=zhangsan.pk, reason="已道歉") == 1
    assert api_for(zhangsan).post("/api/v1/posts", body).status_code == 201
    assert Mute.objects.filter(user=zhangsan).count() == 1  # history kept
    entry = ModerationLog.objects.filter(target_user=zhangsan).order_by("-id").first()
    assert entry.snapshot["lifted"] is True and entry.reason == "已道歉" and entry.actor == zhoubanzhu
    assert zhangsan.notifications.filter(kind="unmuted").exists()


def test_lifting_a_mute_twice_is_a_state_conflict(zhangsan, zhoubanzhu, chenjuwei, neighborhood):
    do_mute_user(neighborhood=neighborhood, actor=zhoubanzhu, user_id=zhangsan.pk, hours=1, reason="刷屏")
    do_unmute_user(neighborhood=neighborhood, actor=chenjuwei, user_id=zhangsan.pk)
    with pytest.raises(Conflict) as exc:
        do_unmute_user(neighborhood=neighborhood, actor=zhoubanzhu, user_id=zhangsan.pk)
    assert exc.value.code == "mute_state_changed"
