"""POST /api/v1/matters/from-post/{post_id}: staff turn a feed post that needs an answer into a
matter (docs/matters.md, "From a feed post").

Here and not in `matters` or `community`: the two are sibling apps and never import each other
(.importlinter); `console` sits above both, reads the post through community's models and
answers it through community's own action, and opens the matter through matters' action. The
matter keeps the post's id (`Matter.source_post_id`, unique), the post gets an official reply
naming the matter (which also marks a post that needs an answer as answered).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from community import actions as community_actions
from community.models import ContentStatus, Post
from core.errors import Conflict, InvalidInput, NotFound
from core.idempotency import idempotent
from matters.actions import MAX_PHOTOS, do_create_matter_from_post
from matters.api import IDEMPOTENCY_HEADER, detail_response
from matters.models import MatterItem
from matters.serializers import MatterDetailOut
from residents.access import is_staff_for


class MatterFromPostIn(serializers.Serializer):
    item = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="工作人员选择的诉求小类")
    place = serializers.CharField(max_length=64, trim_whitespace=True, required=False, allow_blank=True,
                                  help_text="楼号或小区内的位置；不填则为「见社区通帖子」")


class MatterFromPostView(APIView):
    @extend_schema(operation_id="matters_from_post", request=MatterFromPostIn, responses={201: MatterDetailOut},
                   parameters=[IDEMPOTENCY_HEADER],
                   summary="把社区通帖子转为诉求（本居委/村工作人员；发帖人为反映人；同一帖子第二次 409 post_already_matter）")
    @idempotent
    def post(self, request, post_id: int):
        post = Post.objects.select_related("region", "author").filter(pk=post_id).first()
        if post is None or post.scope != Post.Scope.NEIGHBORHOOD or not is_staff_for(request.user, post.region_id):
            raise NotFound("post_not_found", "帖子不存在")
        if post.status != ContentStatus.PUBLISHED:
            raise Conflict("post_not_published", "只有已发布的帖子可以转为诉求", status=post.status)
        serializer = MatterFromPostIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        item = MatterItem.objects.select_related("category").filter(pk=data["item"], is_active=True, category__is_active=True).first()
        if item is None:
            raise InvalidInput("unknown_item", "诉求分类不存在或已停用", field="item")
        photo_ids = list(post.post_images.order_by("position", "pk").values_list("image_id", flat=True)[:MAX_PHOTOS])
        matter = do_create_matter_from_post(
            actor=request.user, reporter=post.author, item=item, neighborhood=post.region,
            text=f"{post.title}\n{post.body}", place=data.get("place") or "见社区通帖子", post_id=post.pk, photo_ids=photo_ids,
        )
        community_actions.do_create_comment(
            post=post, actor=request.user, official=True,
            body=f"已转为诉求（编号 {matter.pk}，{item}）交{matter.case.unit.name}办理，进展可在「一键表达」中查看。",
        )
        return detail_response(request, matter.pk, status=201)
