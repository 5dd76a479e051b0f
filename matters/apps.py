from django.apps import AppConfig


class MattersConfig(AppConfig):
    name = "matters"
    verbose_name = "一键表达"

    def ready(self) -> None:
        from cases import kinds
        from matters.models import Matter, MatterSupport

        def label(case) -> str:
            # Category and item, never the place: the label is in pushes and inbox rows (the
            # outbox keeps what WeChat is sent), which an erasure does not rewrite.
            matter = Matter.objects.filter(case=case).select_related("category", "item").only(
                "category__name", "item__name").first()
            return f"{matter.category.name}：{matter.item.name}" if matter else "诉求"

        def page(case) -> str:
            matter_id = Matter.objects.filter(case=case).values_list("pk", flat=True).first()
            return f"pages/matters/detail?id={matter_id}" if matter_id else ""

        def followers(case) -> list[int]:
            # 我也遇到: the answer reaches every neighbor who said they have the same problem.
            return list(MatterSupport.objects.filter(matter__case=case).values_list("user_id", flat=True))

        def ref(case) -> dict:
            # What a realtime frame (cases.realtime) names the matter by: clients know matters, not cases.
            return {"matter_id": Matter.objects.filter(case=case).values_list("pk", flat=True).first()}

        kinds.register("matter", kinds.CaseKind(label=label, page=page, followers=followers, ref=ref))

        from moderation import recheck
        from moderation.content import SCENE_FORUM

        # Matter text saved while WeChat was unreachable (pending_check): moderation's sweep asks
        # again. The row holds only the verdict, so a conditional UPDATE applies it; a late risky
        # verdict sets `removed` (neighbors never see it; the unit still works the case).
        recheck.register("matters.matter", recheck.Recheckable(
            model=Matter, status_field="text_status", select_related=("reporter",), order_by=("id",),
            apply=recheck.conditional_update(Matter, "text_status"),
            text=lambda matter: {"user": matter.reporter, "content": matter.text, "scene": SCENE_FORUM},
        ))
