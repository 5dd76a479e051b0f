from django.apps import AppConfig


class MattersConfig(AppConfig):
    name = "matters"
    verbose_name = "一键表达"

    def ready(self) -> None:
        from cases import kinds
        from cases.models import Case
        from matters.models import Matter, MatterSupport

        def matter_of(case) -> Matter | None:
            # The matter the caller holds (Matter(case=case) caches itself on the case: the create
            # names its new case with no query), else read with what the label needs.
            if Case.matter.is_cached(case):
                try:
                    return case.matter
                except Matter.DoesNotExist:  # looked for before the matter was written
                    pass
            return Matter.objects.filter(case=case).select_related("category", "item").only(
                "case_id", "category__name", "item__name").first()

        def label(case) -> str:
            # Category and item, never the place: the label is in pushes and inbox rows (the
            # outbox keeps what WeChat is sent), which an erasure does not rewrite.
            matter = matter_of(case)
            return f"{matter.category.name}：{matter.item.name}" if matter else "诉求"

        def page(case) -> str:
            matter = matter_of(case)
            return f"pages/matters/detail?id={matter.pk}" if matter else ""

        def followers(case) -> list[int]:
            # 我也遇到: the answer reaches every neighbor who said they have the same problem.
            return list(MatterSupport.objects.filter(matter__case=case).values_list("user_id", flat=True))

        def ref(case) -> dict:
            # What a realtime frame (cases.realtime) names the matter by: clients know matters, not cases.
            matter = matter_of(case)
            return {"matter_id": matter.pk if matter else None}

        from cases.models import ResponsibleUnit
        from matters.models import MatterCategory, MatterItem
        from matters.queries import NAMES
        from residents.models import Region

        # The lists read these names through a per-process memo (matters.queries.NAMES).
        NAMES.cleared_by(MatterCategory, MatterItem, ResponsibleUnit, Region)

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
