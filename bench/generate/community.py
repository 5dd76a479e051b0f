"""The feed: posts over years, comments and likes, spread Zipf-like over neighborhoods.

Posts are generated in time order, so ids grow with created_at as in real life (the
feed's keyset index is then physically clustered the way production's would be).
Counters on the post (like_count, comment_count) match the rows made for it.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from array import array
from collections.abc import Sequence

from community.models import POST_DAILY_CAP_CEILING, Comment, ContentStatus, Like, Post, Report, shanghai_day

from . import World, rng_for
from .loader import Loader

SECTIONS = [("neighbors", 0.55), ("property", 0.15), ("party", 0.1), ("notice", 0.12), ("police", 0.08)]
TITLES = [
    "楼道堆物请及时清理",
    "周六上午社区义诊",
    "电梯维保通知",
    "垃圾分类新规",
    "谁家的猫走失了",
    "停车位划线意见征集",
    "老年助餐点开放时间调整",
    "党员志愿者招募",
    "小区绿化补种",
    "防范电信诈骗提醒",
    "二手书交换",
    "暑期少儿托管班报名",
    "雨天井盖松动",
    "健身器材损坏",
    "夜间噪音扰民",
    "快递柜新增",
    "社区食堂菜单",
    "疫苗接种安排",
    "高空抛物零容忍",
    "非机动车充电安全",
]
PHRASES = [
    "请各位邻居相互转告。",
    "有问题可以在下面留言。",
    "居委会已经联系物业处理。",
    "具体时间另行通知。",
    "感谢大家的配合！",
    "老人行动不便的可以预约上门。",
    "地点在居委会活动室。",
    "本周内完成。",
    "欢迎大家踊跃参加。",
    "如有疑问请拨打居委电话。",
    "上次反映的问题已经解决。",
    "希望物业尽快回复。",
    "昨天晚上又听到了。",
    "附近的邻居请注意安全。",
    "已经向街道反映。",
]
COMMENTS = [
    "支持！",
    "谢谢居委会",
    "已转告家里老人",
    "什么时候开始？",
    "同意楼上",
    "物业怎么说？",
    "收到",
    "辛苦了",
    "我家也是这样",
    "希望早日解决",
]
STATUSES = [
    (ContentStatus.PUBLISHED, 0.955),
    (ContentStatus.HIDDEN, 0.01),
    (ContentStatus.REMOVED, 0.01),
    (ContentStatus.DELETED, 0.015),
    (ContentStatus.PENDING_REVIEW, 0.005),
    (ContentStatus.PENDING_CHECK, 0.005),
]


def _cum(pairs):
    values, cum, total = [], [], 0.0
    for value, weight in pairs:
        total += weight
        values.append(value)
        cum.append(total)
    return values, cum


def _pick(values, cum, x: float):
    return values[bisect.bisect_left(cum, x * cum[-1])]


def make_community(loader: Loader, world: World) -> None:
    r = rng_for(world.seed, "community")
    scale = world.scale
    nbs = world.neighborhood_ids
    cum_activity = list(itertools.accumulate(world.activity))
    sec_values, sec_cum = _cum(SECTIONS)
    st_values, st_cum = _cum(STATUSES)
    start, span = world.start(), (world.now - world.start()).total_seconds()
    bodies = ["".join(r.sample(PHRASES, k)) for k in (1, 2, 3, 4) for _ in range(150)]
    mean_likes = scale.likes / max(1, scale.posts)
    mean_comments = scale.comments / max(1, scale.posts)
    n_broadcasts = max(len(world.street_ids) + 1, scale.posts // 5000)
    n_posts = scale.posts

    # Per-post facts the like/comment passes need, kept compact (5M posts ≈ 100 MB).
    post_nb = array("i")
    post_likes = array("H")
    post_comments = array("H")
    post_time = array("d")
    answered_by = {}

    # Daily slots (author, Shanghai day) -> seq, for the cap's unique constraint. Posts come in
    # time order, so only the current day's counts are kept.
    slot_day: list = [None]
    slots: dict[int, int] = {}

    def take_slot(author: int, created: dt.datetime, candidates: Sequence[int]) -> tuple[int, dt.date, int]:
        day = shanghai_day(created)
        if day != slot_day[0]:
            slot_day[0] = day
            slots.clear()
        for _ in range(50):
            if slots.get(author, 0) < POST_DAILY_CAP_CEILING:
                break
            author = r.choice(candidates)  # this one is at the ceiling today: someone else posts
        seq = slots.get(author, 0) + 1
        if seq > POST_DAILY_CAP_CEILING:
            raise ValueError(f"bench/generate: every candidate author is at the daily post ceiling on {day}")
        slots[author] = seq
        return author, day, seq

    def posts():
        for i in range(n_posts):
            pid = i + 1
            created = start + dt.timedelta(seconds=span * (i + r.random()) / n_posts)
            if i % (n_posts // n_broadcasts or 1) == 0 and len(post_nb) and r.random() < 0.9:
                # A street or district announcement: one row reaching many neighborhoods.
                if r.random() < 0.8:
                    street = r.choice(world.street_ids)
                    region, scope, author = street, Post.Scope.STREET, r.choice(world.officers_of[street])
                else:
                    region, scope, author = world.district_id, Post.Scope.DISTRICT, r.choice(world.admin_ids)
                author, day, seq = take_slot(
                    author, created, world.officers_of[street] if scope == Post.Scope.STREET else world.admin_ids
                )
                post_nb.append(-1)
                post_likes.append(0)
                post_comments.append(0)
                post_time.append(created.timestamp())
                yield (
                    pid,
                    region,
                    scope,
                    "notice",
                    author,
                    r.choice(TITLES),
                    r.choice(bodies),
                    ContentStatus.PUBLISHED,
                    False,
                    0,
                    0,
                    False,
                    None,
                    None,
                    created,
                    day,
                    seq,
                )
                continue
            idx = bisect.bisect_left(cum_activity, r.random() * cum_activity[-1])
            idx = min(idx, len(nbs) - 1)
            nb = nbs[idx]
            members = world.residents_of[nb] or world.staff_of[nb]
            section = _pick(sec_values, sec_cum, r.random())
            if section == "notice":
                author = r.choice(world.staff_of[nb])
            else:
                author = members[int(r.random() * len(members))]
            author, day, seq = take_slot(author, created, world.staff_of[nb] if section == "notice" else members)
            status = _pick(st_values, st_cum, r.random())
            # Heavy-tailed engagement: most posts get a few likes, some get hundreds.
            e = r.expovariate(1.0)
            # Stochastic rounding keeps the mean at the configured total.
            n_likes = min(len(members), int(e * e * mean_likes / 2 + r.random()), 60000)
            n_comments = min(5000, int(r.expovariate(1.0) * mean_comments + r.random()))
            needs_answer = section in ("neighbors", "property") and r.random() < 0.3
            answered_at = answerer = None
            if needs_answer and (world.now - created).days > 2 and r.random() < 0.9:
                answerer = r.choice(world.staff_of[nb])
                answered_at = created + dt.timedelta(hours=r.uniform(0.5, 48))
                answered_by[pid] = answerer
                n_comments = max(1, n_comments)
            if status != ContentStatus.PUBLISHED:
                n_likes, n_comments = n_likes // 4, n_comments // 4
            pinned = section == "notice" and (world.now - created).days < 14 and r.random() < 0.3
            post_nb.append(idx)
            post_likes.append(n_likes)
            post_comments.append(n_comments)
            post_time.append(created.timestamp())
            yield (
                pid,
                nb,
                Post.Scope.NEIGHBORHOOD,
                section,
                author,
                r.choice(TITLES),
                r.choice(bodies),
                status,
                pinned,
                n_likes,
                n_comments,
                needs_answer,
                answered_at,
                answerer,
                created,
                day,
                seq,
            )

    loader.load(
        Post,
        [
            "id",
            "region",
            "scope",
            "section",
            "author",
            "title",
            "body",
            "status",
            "is_pinned",
            "like_count",
            "comment_count",
            "needs_answer",
            "answered_at",
            "answered_by",
            "created_at",
            "author_day",
            "author_day_seq",
        ],
        posts(),
        total=n_posts,
        label="posts",
    )
    tz = world.now.tzinfo

    def comments():
        cid = 0
        for i in range(len(post_nb)):
            k = post_comments[i]
            if not k:
                continue
            pid = i + 1
            nb = nbs[post_nb[i]]
            members = world.residents_of[nb] or world.staff_of[nb]
            created = dt.datetime.fromtimestamp(post_time[i], tz)
            first_id = cid + 1
            for j in range(k):
                cid += 1
                official = j == 0 and pid in answered_by
                author = answered_by[pid] if official else members[int(r.random() * len(members))]
                parent = first_id if j > 0 and r.random() < 0.15 else None
                yield (
                    cid,
                    pid,
                    parent,
                    author,
                    "已收到，我们会尽快处理。" if official else r.choice(COMMENTS),
                    ContentStatus.PUBLISHED,
                    official,
                    created + dt.timedelta(minutes=5 * (j + 1)),
                )

    loader.load(
        Comment,
        ["id", "post", "parent", "author", "body", "status", "is_official", "created_at"],
        comments(),
        total=sum(post_comments),
        label="comments",
    )

    def likes():
        lid = 0
        for i in range(len(post_nb)):
            k = post_likes[i]
            if not k:
                continue
            pid = i + 1
            members = world.residents_of[nbs[post_nb[i]]]
            created = dt.datetime.fromtimestamp(post_time[i] + 3600, tz)
            for user in r.sample(members, k):
                lid += 1
                yield (lid, pid, user, created)

    loader.load(Like, ["id", "post", "user", "created_at"], likes(), total=sum(post_likes), label="likes")

    # A few open reports, so the moderation queue has work in it.
    def reports():
        rid = 0
        for i in range(0, len(post_nb), 400):
            if post_nb[i] < 0:
                continue
            members = world.residents_of[nbs[post_nb[i]]]
            if not members:
                continue
            rid += 1
            yield (
                rid,
                members[int(r.random() * len(members))],
                i + 1,
                None,
                Report.Reason.SPAM,
                "",
                Report.Status.OPEN,
                dt.datetime.fromtimestamp(post_time[i] + 7200, tz),
            )

    n_reports = loader.load(
        Report,
        ["id", "reporter", "post", "comment", "reason", "note", "status", "created_at"],
        reports(),
        total=len(post_nb) // 400 + 1,
        label="reports",
    )
    world.counts.update(posts=len(post_nb), comments=sum(post_comments), likes=sum(post_likes), reports=n_reports)
