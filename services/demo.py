"""Demo data for the services app: 友谊路助老服务社 with 吴师傅, and a dozen requests of the
demo residents across every state, with timelines, ratings and one overdue request.

Idempotent: the organization is matched by name, and requests are only made once (when
张三 has none yet). Needs the residents demo (personas, regions, 王阿婆) to have run first.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from cases.actions import do_escalate_overdue_cases
from residents.models import Beneficiary, Region, Role, User
from services.actions.case_mirror import resync_case
from services.actions.ratings import do_rate_service_request
from services.actions.requests import check_create_service_request, do_create_service_request
from services.actions.transitions import do_transition_service_request
from services.models import ProviderOrganization, ServiceItem, ServiceRating, ServiceRequest, TextStatus

STREET_CODE = "310113003000"
ORG_NAME = "友谊路助老服务社"
MEAL = {"diet": "低盐", "time_slot": "午餐"}


def _persona(openid: str) -> User | None:
    return User.objects.filter(openid=openid).first()


def seed(stdout) -> None:
    street = Region.objects.filter(code=STREET_CODE).first()
    people = {o: _persona(o) for o in ("zhangsan", "lisi", "chenjuwei", "wuzhuli", "zhoubanzhu")}
    if street is None or any(p is None for p in people.values()):
        stdout.write("services: 未找到演示区域或人物（请先载入 residents 演示数据），跳过")
        return
    org, _ = ProviderOrganization.objects.get_or_create(name=ORG_NAME, defaults={"street": street, "phone": "021-56781234"})
    org.members.add(people["wuzhuli"])
    Role.objects.get_or_create(user=people["wuzhuli"], region=street, kind=Role.Kind.SERVICE_PROVIDER,
                               revoked_at=None, defaults={"title": "助老服务社服务员"})
    ServiceItem.objects.filter(
        code__in=["meal-delivery", "meal-dine-in", "medical-escort", "medical-prescription", "bath-home", "clean-home",
                  "safety-gas-electric", "company-visit"],
        default_provider__isnull=True,
    ).update(default_provider=org)
    zhangsan = people["zhangsan"]
    if ServiceRequest.objects.filter(requester=zhangsan).exists():
        stdout.write("services: 演示工单已存在")
        return
    if not Beneficiary.objects.filter(owner=zhangsan, is_default=True, deleted_at__isnull=True).exists():
        stdout.write("services: 张三尚未登记王阿婆，跳过演示工单")
        return
    _requests(people, org)
    # Without the stand-in running, the seed's own (known clean) notes and comments would wait for a
    # late check that may never come: the demo approves its own text, as staff would.
    waiting = TextStatus.waiting()
    ServiceRequest.objects.filter(requester=zhangsan, note_status__in=waiting).update(note_status=TextStatus.PUBLISHED)
    ServiceRating.objects.filter(rater=zhangsan, comment_status__in=waiting).update(comment_status=TextStatus.PUBLISHED)
    stdout.write("services: 服务社、吴师傅与12张演示工单已就绪")


def _requests(people: dict[str, User], org: ProviderOrganization) -> None:
    zhangsan, staff, worker = people["zhangsan"], people["chenjuwei"], people["wuzhuli"]
    items = {i.code: i for i in ServiceItem.objects.all()}

    def new(code: str, extra: dict | None = None, **kwargs) -> ServiceRequest:
        return do_create_service_request(check_create_service_request(actor=zhangsan, item=items[code], extra=extra or {}, **kwargs))

    def move(req: ServiceRequest, *steps: tuple[User, str, dict]) -> None:
        for actor, to, options in steps:
            do_transition_service_request(req.pk, actor=actor, to=to, **options)

    accept = (staff, "accepted", {"note": "已受理，马上安排"})
    assign = (staff, "assigned", {"assignee_org_id": org.pk})
    start = (worker, "in_service", {"note": "已到达"})

    def complete(note: str) -> tuple[User, str, dict]:
        return (worker, "completed", {"note": note})

    new("meal-delivery", MEAL, note="老人牙口不好，菜请煮烂一些")  # submitted
    move(new("medical-prescription", {"hospital": "宝山区友谊社区卫生服务中心", "medicines": "氨氯地平、阿司匹林"}), accept)
    move(new("safety-gas-electric"), accept, assign)
    move(new("bath-home", {"needs_wheelchair": True}), accept, assign, start)
    for code, extra, score, comment in [
        ("meal-delivery", MEAL, 5, "饭菜热乎，吴师傅很准时"),
        ("medical-escort", {"hospital": "上海市第十人民医院", "department": "心内科"}, 5, "全程陪同，很放心"),
        ("clean-home", {}, 4, "打扫得干净"),
        ("company-visit", {}, 3, "聊得不错，就是来晚了"),
    ]:
        req = new(code, extra)
        move(req, accept, assign, start, complete("服务已完成"))
        do_rate_service_request(req.pk, actor=zhangsan, score=score, comment=comment)
    move(new("meal-dine-in", MEAL), accept, assign, start, complete("已在长者食堂用餐"))  # completed, awaiting rating
    move(new("errand-repair", {"repair_item": "厨房水龙头漏水"}), (staff, "rejected", {"reason": "属物业维修范围，已转物业处理"}))
    move(new("company-talk"), (zhangsan, "cancelled", {"note": "家里人回来了，不需要了"}))
    late = new("clean-deep", {}, note="换季大扫除")
    # The overdue one: its accept deadline passed yesterday, so the sweep escalates it to 刘科长.
    ServiceRequest.objects.filter(pk=late.pk).update(accept_due_at=timezone.now() - timedelta(days=1))
    resync_case(late.pk)
    do_escalate_overdue_cases()
