"""Demo feed for the demo district (DEMO.md): idempotent, keyed by (region, author, title)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from community.models import Comment, ContentStatus, Like, Post
from residents.models import Region, User

NEIGHBORHOOD_CODES = ["310113003001", "310113003002", "310113003003", "310113004001", "310113004002", "310113004003"]


def _user(openid: str) -> User | None:
    return User.objects.filter(openid=openid).first()


def _post(region: Region, author: User, *, title: str, body: str, section: str, hours_ago: float, **kw) -> Post:
    post, _ = Post.objects.get_or_create(
        region=region,
        author=author,
        title=title,
        defaults={
            "body": body,
            "section": section,
            "status": ContentStatus.PUBLISHED,
            "created_at": timezone.now() - timedelta(hours=hours_ago),
            **kw,
        },
    )
    return post


def _comment(post: Post, author: User, body: str, *, official: bool = False, parent: Comment | None = None) -> Comment:
    comment, created = Comment.objects.get_or_create(
        post=post,
        author=author,
        body=body,
        defaults={"status": ContentStatus.PUBLISHED, "is_official": official, "parent": parent},
    )
    if created:
        Post.objects.filter(pk=post.pk).update(comment_count=F("comment_count") + 1)
        if official and post.needs_answer and post.answered_at is None:
            Post.objects.filter(pk=post.pk).update(answered_at=timezone.now(), answered_by=author)
    return comment


def _like(post: Post, user: User) -> None:
    _, created = Like.objects.get_or_create(post=post, user=user)
    if created:
        Post.objects.filter(pk=post.pk).update(like_count=F("like_count") + 1)


def seed(stdout) -> None:
    regions = {r.code: r for r in Region.objects.filter(code__in=[*NEIGHBORHOOD_CODES, "310113003000"])}
    people = {o: _user(o) for o in ("zhangsan", "lisi", "zhoubanzhu", "chenjuwei", "liujiedao", "zhaoliu", "sunjiedao")}
    baolin = regions.get("310113003001")
    if baolin is None or any(people[o] is None for o in ("zhangsan", "lisi", "chenjuwei", "zhoubanzhu")):
        stdout.write("community: 演示居民或区域不存在，跳过（先载入 residents 演示数据）")
        return
    zhangsan, lisi, chen, zhou = people["zhangsan"], people["lisi"], people["chenjuwei"], people["zhoubanzhu"]

    notice = _post(baolin, chen, title="本周三小区停水通知", section="notice", hours_ago=30, is_pinned=True,
                   body="因管道检修，本周三9:00-12:00停水，请居民提前储水。")
    party = _post(baolin, lisi, title="党员志愿者周六清理楼道", section="party", hours_ago=20, needs_answer=True,
                  body="本周六上午9点，党员志愿者在1号楼集合清理楼道杂物，欢迎邻居们一起参加。")
    answered = _post(baolin, zhangsan, title="5号楼楼道灯不亮", section="neighbors", hours_ago=10, needs_answer=True,
                     body="5号楼3楼楼道灯坏了好几天，晚上老人上下楼不方便。")
    unanswered = _post(baolin, zhangsan, title="小区东门电瓶车乱停", section="property", hours_ago=3, needs_answer=True,
                       body="东门口电瓶车堆在消防通道上，希望物业管一管。")
    _post(baolin, zhou, title="谁家的橘猫走丢了？", section="neighbors", hours_ago=1, needs_answer=True,
          body="2号楼下有只橘猫，戴红色项圈，很亲人。")

    _comment(answered, lisi, "我家那层也是，一起报修吧。")
    _comment(answered, chen, "已联系物业，今天下午更换灯泡。", official=True)
    _comment(party, zhangsan, "我报名参加！")
    for post in (notice, party, answered, unanswered):
        for user in (zhangsan, lisi, zhou):
            _like(post, user)

    officer = people["liujiedao"]
    street = regions.get("310113003000")
    if officer is not None and street is not None:
        _post(street, officer, title="友谊路街道防汛防台提示", section="notice", hours_ago=6, scope=Post.Scope.STREET,
              body="台风将至，请居民收好阳台物品，低洼地区注意防范。")

    for code in NEIGHBORHOOD_CODES[1:]:
        region = regions.get(code)
        resident = people["zhaoliu"] if code == "310113004001" else None
        if region is None or resident is None:
            continue
        _post(region, resident, title="求推荐附近的修鞋师傅", section="neighbors", hours_ago=8, needs_answer=True,
              body="有没有邻居知道附近哪里可以修鞋？")
    stdout.write("community: 社区通演示帖子已就绪")
