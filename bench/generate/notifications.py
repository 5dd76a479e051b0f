"""In-app inbox entries: most read, recent ones unread, skewed toward active residents."""

from __future__ import annotations

import datetime as dt

from notifications.models import Notification

from . import World, rng_for
from .loader import Loader

KINDS = [
    ("service_request.accepted", "您的服务申请已受理", "/pages/services/detail"),
    ("service_request.completed", "服务已完成，请评价", "/pages/services/detail"),
    ("post.answered", "居委回复了您的帖子", "/pages/community/post"),
    ("membership.approved", "您已成为居民", "/pages/me/index"),
    ("topic.voting", "议题开始表决", "/pages/deliberation/topic"),
    ("comment.created", "有人评论了您的帖子", "/pages/community/post"),
]


def make_notifications(loader: Loader, world: World) -> None:
    r = rng_for(world.seed, "notifications")
    everyone = [u for nb in world.neighborhood_ids for u in world.residents_of[nb]]
    if not everyone:
        return
    start, span = world.start(), (world.now - world.start()).total_seconds()
    total = world.scale.notifications

    def rows():
        for i in range(total):
            # Squaring the uniform draw skews toward the front of the list: some people hear a lot.
            recipient = everyone[int((r.random() ** 2) * len(everyone))]
            kind, title, page = KINDS[int(r.random() * len(KINDS))]
            created = start + dt.timedelta(seconds=span * (i + r.random()) / total)
            read = (
                created + dt.timedelta(hours=r.uniform(0.1, 72))
                if (world.now - created).days > 3 or r.random() < 0.5
                else None
            )
            yield (i + 1, recipient, kind, title, "", page, {"generated": True}, f"gen:{i + 1}", created, read)

    n = loader.load(
        Notification,
        ["id", "recipient", "kind", "title", "body", "page", "data", "event_key", "created_at", "read_at"],
        rows(),
        total=total,
        label="notifications",
    )
    world.counts["notifications"] = n
