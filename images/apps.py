from django.apps import AppConfig


class ImagesConfig(AppConfig):
    # Not `media`: /media/ is MEDIA_ROOT's default (where uploads land in development) and is
    # git-ignored, so a package there would hold uploaded files and be left out of the repository.
    name = "images"
    verbose_name = "图片"

    def ready(self) -> None:
        from core.scheduler import register_periodic
        from images.pipeline import on_wechat_push
        from wechat.signals import push_received

        # Image verdicts belong to the shared image pipeline, whichever app attached the image.
        push_received.connect(on_wechat_push, dispatch_uid="images.pipeline.media_check")
        # Images WeChat has not accepted yet (unreachable, or it could not download them).
        register_periodic("images.tasks.check_pending_images", 60)
