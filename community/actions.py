"""Every write to the feed. Text goes through WeChat's msgSecCheck v2 *before* the
transaction opens (a network call must not hold row locks); the verdict decides the
status the row is born with, and nothing is public until a check said pass."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from community.access import (
    answerer_role,
    can_answer_officially,
    can_moderate_post,
    neighborhoods_reached,
    require_not_muted,
)
from community.models import (
    DEFAULT_REPORT_HIDE_THRESHOLD,
    MAX_IMAGES_PER_POST,
    Comment,
    ContentStatus,
    Like,
    ModerationLog,
    Mute,
    Post,
    PostImage,
    PostRevision,
    Report,
    next_author_day_seq,
    post_daily_cap,
    section_is_staff_only,
    section_keys,
    shanghai_day,
)
from core.errors import Conflict, Forbidden, InvalidInput, NotFound, TooManyRequests
from images.models import Image
from images.pipeline import validate_image_ids
from moderation import recheck
from moderation.content import SCENE_COMMENT, SCENE_FORUM, TextCheck, check_text
from notifications.actions import do_notify
from notifications.realtime import publish_on_commit
from residents.access import is_staff_for, profile
from residents.models import Membership, Region, Role, User

logger = logging.getLogger(__name__)


# ---- content security (moderation.content: msgSecCheck v2; the verdict strings are ContentStatus values) ----


def _schedule_recheck() -> None:
    recheck.schedule(delay_setting="COMMUNITY_RECHECK_DELAY_SECONDS")


# ---- events ----------------------------------------------------------------------------


def _publish(post: Post, event_type: str, **extra: Any) -> None:
    payload = {"post_id": post.pk, "section": post.section, "status": post.status, **extra}
    for neighborhood_id in neighborhoods_reached(post):
        publish_on_commit(f"neighborhood.{neighborhood_id}", event_type, payload)


def _snapshot_post(post: Post) -> dict[str, Any]:
    return {
        "title": post.title,
        "body": post.body,
        "status": post.status,
        "is_pinned": post.is_pinned,
        "comments_closed": post.comments_closed,
        "author_id": post.author_id,
        "image_ids": list(PostImage.objects.filter(post=post).values_list("image_id", flat=True)),
    }


def _snapshot_comment(comment: Comment) -> dict[str, Any]:
    return {"body": comment.body, "status": comment.status, "author_id": comment.author_id, "post_id": comment.post_id}


def _log(
    *, region_id: int, actor: User | None, action: str, reason: str = "", post: Post | None = None,
    comment: Comment | None = None, target_user_id: int | None = None, snapshot: dict | None = None,
) -> ModerationLog:
    return ModerationLog.objects.create(
        region_id=region_id, actor=actor, action=action, reason=reason[:200], post=post, comment=comment,
        target_user_id=target_user_id, snapshot=snapshot or {},
    )


# ---- posts -----------------------------------------------------------------------------


def _validate_images(author: User, image_ids: list[int]) -> list[int]:
    return validate_image_ids(author, image_ids, limit=MAX_IMAGES_PER_POST)


def _resolve_target(
    author: User, *, neighborhood_id: int | None, broadcast_region_id: int | None, section: str
) -> tuple[Region, str]:
    p = profile(author)
    if broadcast_region_id is not None:
        region = Region.objects.filter(pk=broadcast_region_id).first()
        if region is None:
            raise NotFound()
        if region.level == Region.Level.STREET and region.pk in p.staff_streets:
            scope = Post.Scope.STREET
        elif region.level == Region.Level.DISTRICT and p.has_role(Role.Kind.DISTRICT_ADMIN, region.pk):
            scope = Post.Scope.DISTRICT
        else:
            raise NotFound()
        if not section_is_staff_only(section):
            raise InvalidInput("broadcast_section", "只有公告栏目可以向整个街道或全区发布")
        return region, scope
    if neighborhood_id is None:
        raise InvalidInput("neighborhood_required", "请指定居委/村", fields={"neighborhood_id": "必填"})
    if neighborhood_id not in p.member_of and neighborhood_id not in p.staff_of:
        raise NotFound()
    region = Region.objects.filter(pk=neighborhood_id, level=Region.Level.NEIGHBORHOOD).first()
    if region is None:
        raise NotFound()
    if section_is_staff_only(section) and not is_staff_for(author, region.pk):
        raise Forbidden("announcement_staff_only", "只有居委或街道工作人员可以发布公告")
    return region, Post.Scope.NEIGHBORHOOD


# Retries when a concurrent create of the same author took our daily slot; more than a few
# means someone is hammering, and the 409 is fine.
_SLOT_ATTEMPTS = 5


def do_create_post(
    *,
    author: User,
    section: str,
    title: str,
    body: str,
    neighborhood_id: int | None = None,
    broadcast_region_id: int | None = None,
    image_ids: list[int] | None = None,
) -> Post:
    """Create a post (or a broadcast announcement). Its status is what the content check said."""
    if section not in section_keys():
        raise InvalidInput("invalid_section", "栏目不存在", fields={"section": section})
    region, scope = _resolve_target(
        author, neighborhood_id=neighborhood_id, broadcast_region_id=broadcast_region_id, section=section
    )
    require_not_muted(author, region, scope)
    image_ids = _validate_images(author, list(image_ids or []))
    check = check_text(user=author, content=body, title=title, scene=SCENE_FORUM)
    is_staff_author = scope != Post.Scope.NEIGHBORHOOD or is_staff_for(author, region.pk)
    now = timezone.now()
    day = shanghai_day(now)
    cap = post_daily_cap()
    with transaction.atomic():
        for _ in range(_SLOT_ATTEMPTS):
            # The cap holds because each post takes a numbered daily slot that the database keeps
            # unique; a concurrent create that took the same slot makes ours fail, and we recount.
            seq = next_author_day_seq(author.pk, day)
            if seq > cap:
                raise TooManyRequests("daily_cap_reached", f"今天已发布{cap}条帖子，请明天再发", cap=cap)
            try:
                with transaction.atomic():
                    post = Post.objects.create(
                        region=region,
                        scope=scope,
                        section=section,
                        author=author,
                        title=title,
                        body=body,
                        status=check.status,
                        content_trace_id=check.trace_id,
                        needs_answer=not is_staff_author and not section_is_staff_only(section),
                        created_at=now,
                        author_day=day,
                        author_day_seq=seq,
                    )
                break
            except IntegrityError:
                continue
        else:
            raise Conflict("post_create_busy", "发帖过于集中，请稍后重试")
        PostImage.objects.bulk_create(
            PostImage.rows(image_ids, post=post)
        )
        if post.status == ContentStatus.PUBLISHED:
            _publish(post, "post.created")
        elif post.status == ContentStatus.PENDING_CHECK:
            _schedule_recheck()
    return post


def do_edit_post(
    *, post_id: int, actor: User, title: str | None = None, body: str | None = None, image_ids: list[int] | None = None
) -> Post:
    """The author edits within the edit window; the text before is kept as a revision."""
    current = Post.objects.filter(pk=post_id).first()
    if current is None or current.author_id != actor.pk:
        raise NotFound()
    new_title = current.title if title is None else title
    new_body = current.body if body is None else body
    if image_ids is not None:
        _validate_images(actor, image_ids)
    text_changed = (new_title, new_body) != (current.title, current.body)
    check = check_text(user=actor, content=new_body, title=new_title, scene=SCENE_FORUM) if text_changed else None
    with transaction.atomic():
        post = Post.objects.select_for_update().get(pk=post_id)
        if not post.can_edit(actor):
            if post.status in (ContentStatus.REMOVED, ContentStatus.DELETED):
                raise NotFound()
            raise Forbidden("edit_window_closed", "已超过可编辑时间或帖子已被隐藏", current=post.status)
        before_images = list(PostImage.objects.filter(post=post).values_list("image_id", flat=True))
        PostRevision.objects.create(post=post, title=post.title, body=post.body, image_ids=before_images, edited_by=actor)
        was_public = post.status == ContentStatus.PUBLISHED
        post.title, post.body, post.edited_at = new_title, new_body, timezone.now()
        if check is not None:
            post.content_trace_id = check.trace_id
            # A post a moderator holds stays held; otherwise the new text's verdict decides.
            if post.status != ContentStatus.PENDING_REVIEW and check.status != post.status:
                post.status = check.status
        if image_ids is not None:
            PostImage.objects.filter(post=post).delete()
            PostImage.objects.bulk_create(
                PostImage.rows(image_ids, post=post)
            )
        post.save(update_fields=["title", "body", "edited_at", "status", "content_trace_id"])
        if post.status == ContentStatus.PUBLISHED:
            _publish(post, "post.updated" if was_public else "post.created")
        elif was_public:
            _publish(post, "post.hidden", reason="edited_pending_check")
        if post.status == ContentStatus.PENDING_CHECK:
            _schedule_recheck()
    return post


def do_delete_post(*, post_id: int, actor: User) -> Post:
    with transaction.atomic():
        post = Post.objects.select_for_update().filter(pk=post_id).first()
        if post is None or post.author_id != actor.pk or post.status in (ContentStatus.REMOVED, ContentStatus.DELETED):
            raise NotFound()
        was_public = post.status == ContentStatus.PUBLISHED
        post.status = ContentStatus.DELETED
        post.save(update_fields=["status"])
        if was_public:
            _publish(post, "post.hidden", reason="deleted")
    return post


# ---- comments --------------------------------------------------------------------------


def _comment_became_public(comment: Comment, post: Post) -> None:
    """Count it, and if it is an official reply, mark the post answered and tell its author."""
    Post.objects.filter(pk=post.pk).update(comment_count=F("comment_count") + 1)
    if comment.is_official and post.needs_answer:
        now = timezone.now()
        # Conditional: only the first official reply sets the response time.
        answered = Post.objects.filter(pk=post.pk, answered_at__isnull=True).update(
            answered_at=now, answered_by=comment.author_id, answered_by_role=answerer_role(comment.author, post)
        )
        if answered:
            do_notify(
                recipients=[post.author_id],
                kind="post_answered",
                title="您的帖子收到了官方回复",
                body=comment.body[:100],
                page=f"pages/post/detail?id={post.pk}",
                data={"post_id": post.pk, "comment_id": comment.pk, "post_title": post.title},
                event_key=f"post:{post.pk}:answered",
            )
    _publish(post, "comment.created", comment_id=comment.pk, is_official=comment.is_official)


def _comment_left_public(comment: Comment) -> None:
    # Never below zero, even if a count drifted.
    Post.objects.filter(pk=comment.post_id, comment_count__gt=0).update(comment_count=F("comment_count") - 1)


def do_create_comment(
    *, post: Post, author: User, body: str, parent_id: int | None = None, official: bool = False
) -> Comment:
    if post.status != ContentStatus.PUBLISHED:
        raise Conflict("post_state_changed", "帖子当前不可评论", current=post.status)
    if official and not can_answer_officially(author, post):
        raise Forbidden("not_official", "只有居委或街道工作人员可以发布官方回复")
    if post.comments_closed and not official:
        raise Forbidden("comments_closed", "该帖子已关闭评论")
    require_not_muted(author, post.region, post.scope)
    if parent_id is not None:
        parent = Comment.objects.filter(pk=parent_id, post=post, status=ContentStatus.PUBLISHED).first()
        if parent is None:
            raise InvalidInput("parent_not_found", "回复的评论不存在", fields={"parent_id": parent_id})
        if parent.parent_id is not None:
            raise InvalidInput("reply_too_deep", "只能回复一级评论")
    check = check_text(user=author, content=body, scene=SCENE_COMMENT)
    with transaction.atomic():
        comment = Comment.objects.create(
            post=post, parent_id=parent_id, author=author, body=body, status=check.status,
            is_official=official, content_trace_id=check.trace_id,
        )
        if comment.status == ContentStatus.PUBLISHED:
            _comment_became_public(comment, post)
        elif comment.status == ContentStatus.PENDING_CHECK:
            _schedule_recheck()
    return comment


def do_delete_comment(*, comment_id: int, actor: User) -> Comment:
    with transaction.atomic():
        comment = Comment.objects.select_for_update().filter(pk=comment_id).first()
        if comment is None or comment.author_id != actor.pk or comment.status in (ContentStatus.REMOVED, ContentStatus.DELETED):
            raise NotFound()
        if comment.status == ContentStatus.PUBLISHED:
            _comment_left_public(comment)
        comment.status = ContentStatus.DELETED
        comment.save(update_fields=["status"])
    return comment


# ---- likes -----------------------------------------------------------------------------


def do_like_post(*, post: Post, user: User) -> bool:
    """Like once; repeating is harmless. Returns whether this call added the like."""
    if post.status != ContentStatus.PUBLISHED:
        raise Conflict("post_state_changed", "帖子当前不可点赞", current=post.status)
    with transaction.atomic():
        try:
            with transaction.atomic():
                Like.objects.create(post=post, user=user)
        except IntegrityError:
            return False  # the unique constraint says this user already likes it
        # F(): concurrent likes by different people add up instead of overwriting each other.
        Post.objects.filter(pk=post.pk).update(like_count=F("like_count") + 1)
    return True


def do_unlike_post(*, post: Post, user: User) -> bool:
    with transaction.atomic():
        deleted, _ = Like.objects.filter(post=post, user=user).delete()
        if deleted:
            Post.objects.filter(pk=post.pk, like_count__gt=0).update(like_count=F("like_count") - 1)
    return bool(deleted)


# ---- reports and moderation ------------------------------------------------------------


def _report_threshold(post: Post) -> int:
    try:
        return max(1, int(post.region.setting("report_hide_threshold", DEFAULT_REPORT_HIDE_THRESHOLD)))
    except (TypeError, ValueError):
        return DEFAULT_REPORT_HIDE_THRESHOLD


def do_report(*, reporter: User, post: Post, comment: Comment | None = None, reason: str, note: str = "") -> Report:
    """One report per user per item. The Nth distinct reporter hides the item until a moderator reviews it."""
    if reason not in Report.Reason.values:
        raise InvalidInput("invalid_reason", "举报原因无效", fields={"reason": reason})
    with transaction.atomic():
        try:
            with transaction.atomic():
                report = Report.objects.create(reporter=reporter, post=post, comment=comment, reason=reason, note=note)
        except IntegrityError:
            raise Conflict("already_reported", "您已举报过该内容") from None
        threshold = _report_threshold(post)
        if comment is None:
            target = Post.objects.select_for_update().get(pk=post.pk)
            open_reports = Report.objects.filter(post=target, comment__isnull=True, status=Report.Status.OPEN).count()
            if open_reports >= threshold and target.status == ContentStatus.PUBLISHED:
                snapshot = _snapshot_post(target)
                target.status, target.hidden_by_reports = ContentStatus.HIDDEN, True
                target.save(update_fields=["status", "hidden_by_reports"])
                _log(region_id=target.region_id, actor=None, action=ModerationLog.Action.AUTO_HIDE, post=target,
                     reason=f"{open_reports} 人举报", snapshot=snapshot)
                _publish(target, "post.hidden", reason="reports")
        else:
            target_comment = Comment.objects.select_for_update().get(pk=comment.pk)
            open_reports = Report.objects.filter(comment=target_comment, status=Report.Status.OPEN).count()
            if open_reports >= threshold and target_comment.status == ContentStatus.PUBLISHED:
                snapshot = _snapshot_comment(target_comment)
                target_comment.status, target_comment.hidden_by_reports = ContentStatus.HIDDEN, True
                target_comment.save(update_fields=["status", "hidden_by_reports"])
                _comment_left_public(target_comment)
                _log(region_id=post.region_id, actor=None, action=ModerationLog.Action.AUTO_HIDE, post=post,
                     comment=target_comment, reason=f"{open_reports} 人举报", snapshot=snapshot)
    return report


POST_ACTIONS = ("hide", "restore", "remove", "pin", "unpin", "close_comments", "open_comments")
COMMENT_ACTIONS = ("hide", "restore", "remove")

_FLAG_ACTIONS = {
    "pin": ("is_pinned", True),
    "unpin": ("is_pinned", False),
    "close_comments": ("comments_closed", True),
    "open_comments": ("comments_closed", False),
}
_STATUS_ACTIONS = {"hide": ContentStatus.HIDDEN, "restore": ContentStatus.PUBLISHED, "remove": ContentStatus.REMOVED}


# What the author is told when a moderator acts on their post (phrase: at most 5 characters).
_AUTHOR_HEARS = {"hide": "已隐藏", "remove": "已删除", "restore": "已恢复"}


def _notify_author_of_moderation(post: Post, entry: ModerationLog, reason: str) -> None:
    action = entry.action
    result = _AUTHOR_HEARS[action]
    do_notify(
        recipients=[post.author_id],
        kind="post_moderated",
        title=f"您的帖子{result}",
        body=reason.strip()[:200] or ("帖子已重新公开" if action == "restore" else "如有疑问请联系居委会"),
        page=f"pages/post/detail?id={post.pk}",
        data={"post_id": post.pk, "post_title": post.title, "result_label": result, "action": action},
        event_key=f"post:{post.pk}:moderation:{entry.pk}",
    )


def do_moderate_post(*, post_id: int, actor: User, action: str, reason: str = "") -> Post:
    """Hide/restore/remove/pin/unpin/close or open comments. Two moderators at once: the second gets 409."""
    if action not in POST_ACTIONS:
        raise InvalidInput("invalid_action", "操作无效", fields={"action": action})
    with transaction.atomic():
        post = Post.objects.select_for_update().get(pk=post_id)
        if not can_moderate_post(actor, post):
            raise NotFound()
        snapshot = _snapshot_post(post)
        was_public = post.status == ContentStatus.PUBLISHED
        if action in _FLAG_ACTIONS:
            field, value = _FLAG_ACTIONS[action]
            if post.status in (ContentStatus.REMOVED, ContentStatus.DELETED) or getattr(post, field) == value:
                raise Conflict("post_state_changed", current=post.status, **{field: getattr(post, field)})
            setattr(post, field, value)
            post.save(update_fields=[field])
        else:
            target = _STATUS_ACTIONS[action]
            if not post.can_move_to(target):
                raise Conflict("post_state_changed", current=post.status)
            post.status = target
            post.hidden_by_reports = False
            post.save(update_fields=["status", "hidden_by_reports"])
            if action in ("restore", "remove"):
                # Reviewed: these reports are settled; new ones count afresh.
                Report.objects.filter(post=post, comment__isnull=True, status=Report.Status.OPEN).update(
                    status=Report.Status.RESOLVED
                )
        entry = _log(region_id=post.region_id, actor=actor, action=action, reason=reason, post=post, snapshot=snapshot)
        if action in _AUTHOR_HEARS and post.author_id != actor.pk:
            _notify_author_of_moderation(post, entry, reason)
        is_public = post.status == ContentStatus.PUBLISHED
        if was_public and not is_public:
            _publish(post, "post.hidden", reason=action)
        elif is_public and not was_public:
            _publish(post, "post.created" if snapshot["status"] != ContentStatus.HIDDEN else "post.updated")
        elif is_public:
            _publish(post, "post.updated")
    return post


def do_moderate_comment(*, comment_id: int, actor: User, action: str, reason: str = "") -> Comment:
    if action not in COMMENT_ACTIONS:
        raise InvalidInput("invalid_action", "操作无效", fields={"action": action})
    with transaction.atomic():
        comment = Comment.objects.select_for_update().select_related("post").get(pk=comment_id)
        if not can_moderate_post(actor, comment.post):
            raise NotFound()
        target = _STATUS_ACTIONS[action]
        if not comment.can_move_to(target):
            raise Conflict("comment_state_changed", current=comment.status)
        snapshot = _snapshot_comment(comment)
        was_public = comment.status == ContentStatus.PUBLISHED
        comment.status, comment.hidden_by_reports = target, False
        comment.save(update_fields=["status", "hidden_by_reports"])
        if was_public and target != ContentStatus.PUBLISHED:
            _comment_left_public(comment)
        elif target == ContentStatus.PUBLISHED and not was_public:
            _comment_became_public(comment, comment.post)
        if action in ("restore", "remove"):
            Report.objects.filter(comment=comment, status=Report.Status.OPEN).update(status=Report.Status.RESOLVED)
        _log(region_id=comment.post.region_id, actor=actor, action=action, reason=reason, post=comment.post,
             comment=comment, snapshot=snapshot)
    return comment


def do_mute_user(*, neighborhood: Region, actor: User, user_id: int, hours: int, reason: str) -> Mute:
    """Stop a member posting and commenting in this neighborhood for a while."""
    target = User.objects.filter(
        pk=user_id, memberships__neighborhood=neighborhood, memberships__status__in=Membership.ACTIVE_STATUSES
    ).first()
    if target is None:
        raise NotFound()
    if target.pk == actor.pk:
        raise InvalidInput("cannot_mute_self", "不能禁言自己")
    with transaction.atomic():
        mute = Mute.objects.create(
            neighborhood=neighborhood, user=target, until=timezone.now() + timedelta(hours=hours), reason=reason,
            created_by=actor,
        )
        _log(region_id=neighborhood.pk, actor=actor, action=ModerationLog.Action.MUTE, reason=reason,
             target_user_id=target.pk, snapshot={"until": mute.until.isoformat(), "hours": hours})
        do_notify(
            recipients=[target.pk], kind="muted", title="您已被禁言",
            body=f"因“{reason[:60]}”，您在{neighborhood.name}暂时不能发言，至 {timezone.localtime(mute.until):%Y-%m-%d %H:%M}。",
            event_key=f"mute:{mute.pk}",
        )
    return mute


def do_unmute_user(*, neighborhood: Region, actor: User, user_id: int, reason: str = "") -> int:
    """Lift a user's active mutes in this neighborhood now; returns how many were lifted.

    The Mute rows stay (their `until` becomes now) so the history of who was muted survives.
    The lift is logged as a `mute` entry with `snapshot.lifted`: ModerationLog's action
    choices have no `unmute` yet, and adding one needs a community migration.
    """
    now = timezone.now()
    with transaction.atomic():
        active = list(
            Mute.objects.select_for_update().filter(neighborhood=neighborhood, user_id=user_id, until__gt=now)
        )
        if not active:
            # A second moderator lifting the same mute, or it ran out meanwhile.
            raise Conflict("mute_state_changed", "该用户当前未被禁言", current="not_muted")
        Mute.objects.filter(pk__in=[m.pk for m in active]).update(until=now)
        _log(region_id=neighborhood.pk, actor=actor, action=ModerationLog.Action.MUTE, reason=reason or "解除禁言",
             target_user_id=user_id,
             snapshot={"lifted": True, "until": now.isoformat(), "hours": 0, "mute_ids": [m.pk for m in active]})
        do_notify(
            recipients=[user_id], kind="unmuted", title="您已被解除禁言",
            body=f"您在{neighborhood.name}可以正常发言了。", event_key=f"unmute:{active[0].pk}:{now.timestamp():.0f}",
        )
    return len(active)


# ---- background: re-check text WeChat could not see, drop rejected images ----------------


def apply_late_verdict(item: Post | Comment, check: TextCheck | None) -> str:
    """Under a lock, move an item still pending_check to what the late verdict says (None = risky).
    The feed's `apply` for the re-check sweep (moderation.recheck, registered in community.apps)."""
    model = type(item)
    with transaction.atomic():
        locked = model.objects.select_for_update().get(pk=item.pk)
        if locked.status != ContentStatus.PENDING_CHECK:
            return "skipped"  # deleted, or moderated meanwhile
        post = locked if isinstance(locked, Post) else Post.objects.get(pk=locked.post_id)
        if check is None:
            snapshot = _snapshot_post(locked) if isinstance(locked, Post) else _snapshot_comment(locked)
            locked.status = ContentStatus.REMOVED
            locked.save(update_fields=["status"])
            _log(region_id=post.region_id, actor=None, action=ModerationLog.Action.CONTENT_CHECK, reason="内容安全检测未通过",
                 post=post, comment=locked if isinstance(locked, Comment) else None, snapshot=snapshot)
            return "removed"
        locked.status, locked.content_trace_id = check.status, check.trace_id
        locked.save(update_fields=["status", "content_trace_id"])
        if check.status != ContentStatus.PUBLISHED:
            return "review"
        if isinstance(locked, Post):
            _publish(locked, "post.created")
        else:
            _comment_became_public(locked, post)
        return "published"


def recheck_pending(*, limit: int = 100) -> dict[str, int]:
    """Run the content check again for posts and comments saved while WeChat was unreachable
    (the shared sweep, limited to the feed's kinds)."""
    return recheck.recheck_pending(names=("community.post", "community.comment"), limit=limit)


def on_image_checked(sender: Any, image: Image, **kwargs: Any) -> None:
    """A picture WeChat calls risky leaves every post it was in (called inside the verdict's transaction)."""
    if image.status != Image.Status.REJECTED:
        return
    post_ids = list(PostImage.objects.filter(image=image).values_list("post_id", flat=True))
    if not post_ids:
        return
    PostImage.objects.filter(image=image).delete()
    for post in Post.objects.filter(pk__in=post_ids, status=ContentStatus.PUBLISHED):
        _publish(post, "post.updated", reason="image_rejected")
