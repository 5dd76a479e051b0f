from django.apps import AppConfig


class CommunityConfig(AppConfig):
    name = "community"
    verbose_name = "社区通"

    def ready(self) -> None:
        from core.scheduler import register_periodic

        register_periodic("community.tasks.escalate_unanswered_posts", 60)

        from community.answers import receives_unanswered_posts
        from notifications import kinds

        kinds.register_audience("post_answer_overdue", receives_unanswered_posts)

        from community.actions import apply_late_verdict, on_image_checked
        from community.models import Comment, Post
        from images.pipeline import image_checked
        from moderation import recheck
        from moderation.content import SCENE_COMMENT, SCENE_FORUM

        # The media verdict itself is handled by images.pipeline (connected in ImagesConfig.ready);
        # the feed only has to drop a rejected picture from its posts.
        image_checked.connect(on_image_checked, dispatch_uid="community.image_checked")
        # Posts and comments saved while WeChat was unreachable: moderation's sweep asks again.
        recheck.register("community.post", recheck.Recheckable(
            model=Post, status_field="status", select_related=("author",), apply=apply_late_verdict,
            text=lambda post: {"user": post.author, "content": post.body, "title": post.title, "scene": SCENE_FORUM},
        ))
        recheck.register("community.comment", recheck.Recheckable(
            model=Comment, status_field="status", select_related=("author",), apply=apply_late_verdict,
            text=lambda comment: {"user": comment.author, "content": comment.body, "scene": SCENE_COMMENT},
        ))

        from community.feed import REACH
        from residents.models import Region

        # The feed keeps each neighborhood's street and district for a few minutes (community.feed.reach).
        REACH.cleared_by(Region)
