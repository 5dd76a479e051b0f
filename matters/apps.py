from django.apps import AppConfig


class MattersConfig(AppConfig):
    name = "matters"
    verbose_name = "一键表达"

    def ready(self) -> None:
        from cases import kinds
        from matters.models import Matter, MatterSupport

        def label(case) -> str:
            matter = Matter.objects.filter(case=case).select_related("item").only("item__name", "place").first()
            return f"{matter.item.name}（{matter.place}）" if matter else "诉求"

        def page(case) -> str:
            matter_id = Matter.objects.filter(case=case).values_list("pk", flat=True).first()
            return f"pages/matters/detail?id={matter_id}" if matter_id else ""

        def followers(case) -> list[int]:
            # 我也遇到: the answer reaches every neighbor who said they have the same problem.
            return list(MatterSupport.objects.filter(matter__case=case).values_list("user_id", flat=True))

        kinds.register("matter", kinds.CaseKind(label=label, page=page, followers=followers))
