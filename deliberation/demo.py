"""议事 demo data for 宝林一村: one topic in each demo stage, driven through the real actions
so their events, votes and decisions are what the API would have produced.

Idempotent: a topic whose title already exists in the neighborhood is left alone.
Needs the residents demo (regions and personas); without it, it says so and adds nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from deliberation.actions.milestones import do_add_milestone
from deliberation.actions.moderation import do_moderate_reply, do_moderate_topic
from deliberation.actions.replies import do_add_reply
from deliberation.actions.stages import do_transition_topic
from deliberation.actions.supports import do_add_support
from deliberation.actions.topics import do_create_topic
from deliberation.actions.votes import do_cast_ballot, do_close_vote
from deliberation.models import Topic
from residents.models import Membership, Region, User

BAOLIN_1 = "310113003001"
GROUP_1 = "310113003101"


def _owner(n: int, neighborhood: Region, group: Region, area: str) -> User:
    """Owners of 1号楼组 so the elevator vote has owners and floor area to count."""
    user, _ = User.objects.get_or_create(
        openid=f"demo-owner-{n}", defaults={"username": f"demo-owner-{n}", "nickname": f"1号楼业主{n}"}
    )
    Membership.objects.get_or_create(
        user=user,
        neighborhood=neighborhood,
        status=Membership.Status.APPROVED,
        defaults={
            "building_group": group,
            "building": "5号楼",
            "room": f"{n}01室",
            "household_key": f"demo-5-{n}01",
            "is_owner": True,
            "floor_area": Decimal(area),
            "is_current": True,
            "decided_at": timezone.now(),
        },
    )
    return user


def seed(stdout) -> None:
    neighborhood = Region.objects.filter(code=BAOLIN_1).first()
    group = Region.objects.filter(code=GROUP_1).first()
    personas = {u.openid: u for u in User.objects.filter(openid__in=["zhangsan", "lisi", "zhoubanzhu", "chenjuwei"])}
    if neighborhood is None or group is None or len(personas) < 4:
        stdout.write("议事厅：缺少宝林一村或演示人物（先载入 residents 演示数据），跳过")
        return
    zhangsan, lisi, zhou, chen = (personas[k] for k in ("zhangsan", "lisi", "zhoubanzhu", "chenjuwei"))
    existing = set(Topic.objects.filter(neighborhood=neighborhood).values_list("title", flat=True))
    owners = [_owner(n, neighborhood, group, area) for n, area in enumerate(["72.5", "88.0", "95.3", "110.0"], start=1)]
    now = timezone.now()

    def create(author: User, category: str, title: str, body: str, group_id: int | None = None) -> Topic | None:
        if title in existing:
            return None
        topic = do_create_topic(
            actor=author,
            neighborhood_id=neighborhood.pk,
            building_group_id=group_id,
            category=category,
            title=title,
            body=body,
        )
        if not topic.is_public:
            # Seed text is ours: when WeChat (the stand-in) could not check it, the committee approves it.
            topic = do_moderate_topic(topic_id=topic.pk, actor=chen, action="restore", reason="演示数据")
        return topic

    def reply(topic: Topic, author: User, body: str, **kw) -> None:
        posted = do_add_reply(topic_id=topic.pk, actor=author, body=body, **kw)
        if posted.content_status != "published":
            do_moderate_reply(topic_id=topic.pk, reply_id=posted.pk, actor=chen, action="restore")

    # 停车: proposed, gathering supports.
    topic = create(
        zhangsan, "parking", "夜间临时停车位不足，建议错峰共享", "晚上小区内车位紧张，建议与周边单位协商错峰共享停车。"
    )
    if topic:
        for supporter in (lisi, zhou):
            do_add_support(topic_id=topic.pk, actor=supporter)

    # 物业管理: in discussion with replies.
    topic = create(lisi, "property", "物业费调整方案征求意见", "物业公司提出物业费每平方米上调0.3元，请大家讨论。")
    if topic:
        do_transition_topic(topic_id=topic.pk, actor=chen, to="discussing", note="居委直接开启讨论")
        reply(topic, zhangsan, "服务质量提升的话可以接受。", stance="support")
        reply(topic, zhou, "希望先公开近两年收支。", stance="oppose")
        reply(topic, chen, "居委已要求物业下周公示收支明细。", official=True)

    # 加装电梯: 1号楼组, voting under the Civil Code rule.
    topic = create(owners[0], "elevator", "5号楼加装电梯", "5号楼多为老年住户，上下楼困难，申请加装电梯。", group.pk)
    if topic:
        do_transition_topic(topic_id=topic.pk, actor=chen, to="discussing")
        do_transition_topic(
            topic_id=topic.pk,
            actor=chen,
            to="voting",
            summary="多数住户赞成加装，费用按楼层分摊，低层住户关心采光与噪音。",
            vote_rules={
                "kind": "yes_no_abstain",
                "pass_rule": "civil_code",
                "closes_at": now + timedelta(days=14),
                "quorum_percent": 0,
                "is_major_matter": False,
                "allow_change": True,
            },
        )
        for owner, choice in zip(owners[:3], ["yes", "yes", "abstain"], strict=False):
            do_cast_ballot(topic_id=topic.pk, actor=owner, choices=[choice])

    # 垃圾分类: passed, implementing with milestones.
    topic = create(zhou, "garbage", "垃圾箱房改造及定时定点投放", "改造3处垃圾箱房，增加洗手池和除臭设备。")
    if topic:
        do_transition_topic(topic_id=topic.pk, actor=chen, to="discussing")
        do_transition_topic(
            topic_id=topic.pk,
            actor=chen,
            to="voting",
            summary="居民普遍支持改造，投放时间定为早7-9点、晚6-8点。",
            vote_rules={"kind": "yes_no_abstain", "pass_rule": "simple_majority", "closes_at": now + timedelta(days=7)},
        )
        for voter in (zhangsan, lisi, zhou):
            do_cast_ballot(topic_id=topic.pk, actor=voter, choices=["yes"])
        do_close_vote(topic_id=topic.pk, actor=chen, note="居民表决通过")
        do_transition_topic(topic_id=topic.pk, actor=chen, to="implementing")
        today = date.today()
        for title, due, status, progress, party in [
            ("箱房改造设计", today - timedelta(days=20), "done", 100, "居委会"),
            ("施工招标", today - timedelta(days=5), "done", 100, "物业公司"),
            ("箱房施工", today + timedelta(days=20), "in_progress", 40, "施工单位"),
            ("定时定点投放宣传", today + timedelta(days=30), "planned", 0, "志愿者队伍"),
        ]:
            do_add_milestone(
                topic_id=topic.pk,
                actor=chen,
                title=title,
                due_date=due,
                status=status,
                progress=progress,
                responsible_party=party,
            )
    stdout.write("议事厅：宝林一村演示议题已就绪")
