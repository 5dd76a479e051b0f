from django.apps import AppConfig


class CommunityConfig(AppConfig):
    name = "community"
    verbose_name = "社区通"

    def ready(self) -> None:
        from core.scheduler import register_periodic

        register_periodic("community.tasks.recheck_pending_content", 60)
        register_periodic("community.tasks.escalate_unanswered_posts", 60)

        from community.answers import receives_unanswered_posts
        from notifications import kinds

        kinds.register_audience("post_answer_overdue", receives_unanswered_posts)

        from community.actions import on_image_checked
        from core.images import image_checked

        # The media verdict itself is handled by core.images (connected in CoreConfig.ready);
        # the feed only has to drop a rejected picture from its posts.
        image_checked.connect(on_image_checked, dispatch_uid="community.image_checked")

        from community.feed import REACH
        from residents.models import Region

        # The feed keeps each neighborhood's street and district for a few minutes (community.feed.reach).
        REACH.cleared_by(Region)
