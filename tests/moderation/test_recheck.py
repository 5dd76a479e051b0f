"""The one re-check sweep (moderation/recheck.py): every app's checked text is registered with
it, one periodic job runs it, and one run settles waiting text of every app, through the
WeChat stand-in over real HTTP."""

from __future__ import annotations

import pytest

from community.models import ContentStatus, Post
from core.scheduler import periodic_jobs
from deliberation.models import Topic
from moderation import recheck
from moderation.tasks import recheck_pending_content
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_every_app_registers_the_text_it_checks():
    assert set(recheck.registered()) == {
        "community.post",
        "community.comment",
        "deliberation.topic",
        "deliberation.reply",
        "services.note",
        "services.rating_comment",
        "matters.matter",
        "cases.rating_comment",
    }


def test_one_periodic_job_rechecks_all_text():
    paths = {job.task_path for job in periodic_jobs()}
    assert "moderation.tasks.recheck_pending_content" in paths
    assert not {p for p in paths if "recheck" in p} - {"moderation.tasks.recheck_pending_content"}


def test_one_run_settles_waiting_text_of_every_app(wechat_standin, neighborhood):
    author = f.resident(neighborhood)
    ok = Post.objects.create(
        region=neighborhood, author=author, section="neighbors", title="寻猫", body="橘猫走失",
        status=ContentStatus.PENDING_CHECK,
    )
    bad = Post.objects.create(
        region=neighborhood, author=author, section="neighbors", title="广告", body="赌博网站",
        status=ContentStatus.PENDING_CHECK,
    )
    topic = Topic.objects.create(
        neighborhood=neighborhood, author=author, category=Topic._meta.get_field("category").choices[0][0],
        title="加装电梯", body="3号楼想加装电梯", content_status="pending_check",
    )

    result = recheck_pending_content.enqueue().return_value

    assert result == {"published": 2, "review": 0, "removed": 1, "still_pending": 0}
    assert Post.objects.get(pk=ok.pk).status == ContentStatus.PUBLISHED
    assert Post.objects.get(pk=bad.pk).status == ContentStatus.REMOVED
    assert Topic.objects.get(pk=topic.pk).content_status == "published"


def test_a_row_moderated_meanwhile_is_left_alone(wechat_standin, neighborhood):
    author = f.resident(neighborhood)
    post = Post.objects.create(
        region=neighborhood, author=author, section="neighbors", title="寻猫", body="橘猫走失",
        status=ContentStatus.PENDING_CHECK,
    )
    kind = recheck.registered()["community.post"]
    Post.objects.filter(pk=post.pk).update(status=ContentStatus.HIDDEN)  # a moderator acted first

    assert kind.apply(post, None) == "skipped"
    assert Post.objects.get(pk=post.pk).status == ContentStatus.HIDDEN


def test_the_feed_adds_only_the_authors_delete_to_the_shared_lifecycle():
    from community.models import CONTENT_TRANSITIONS as feed
    from moderation.models import CONTENT_TRANSITIONS as lifecycle

    for status, moves in lifecycle.items():
        assert feed[status] - moves == ({"deleted"} if moves else set())
    assert feed["deleted"] == frozenset()
    post = Post(status=ContentStatus.PENDING_REVIEW)
    assert post.can_move_to("deleted") and post.can_move_to("published") and not post.can_move_to("pending_check")
