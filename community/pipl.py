"""PIPL export and erasure for the feed: posts, comments, likes, reports, images (core/pipl.py).

Written by the trust engineer; community owns the models, this file only reads and scrubs them.

What someone published stays published: the thread around it would not make sense
without it, and neighbours replied to it. The author FK stays on the (tombstoned)
account, which renders as "已注销用户", so nothing public still says who it was.
What was never public goes: report notes (who reported what, and why, is theirs),
uploaded images that no post uses, and mutes about them.
"""

from __future__ import annotations

from community.models import Comment, Like, Mute, Post, PostRevision, Report
from core.pipl import model_rows, register_eraser, register_exporter
from images.models import Image


def export(user) -> dict:
    return {
        "posts": model_rows(Post.objects.filter(author=user), exclude=("content_trace_id",)),
        "post_revisions": model_rows(PostRevision.objects.filter(post__author=user)),
        "comments": model_rows(Comment.objects.filter(author=user), exclude=("content_trace_id",)),
        "likes": model_rows(Like.objects.filter(user=user)),
        "reports": model_rows(Report.objects.filter(reporter=user)),
        "images": model_rows(Image.objects.filter(owner=user)),
        "mutes": model_rows(Mute.objects.filter(user=user), exclude=("created_by",)),
    }


def erase(user) -> None:
    Report.objects.filter(reporter=user).update(note="")
    Mute.objects.filter(user=user).delete()
    for image in _unused_images(user):
        image.file.delete(save=False)
        image.thumbnail.delete(save=False)
        image.delete()


def _unused_images(user):
    """The user's uploads that nothing points at. Images a post (or, generically, any other
    app's row) shows are public content and stay; the rest were never published."""
    images = Image.objects.filter(owner=user)
    for rel in Image._meta.related_objects:
        if rel.related_model is Image:
            continue
        images = images.exclude(**{f"{rel.name}__isnull": False})
    return images


register_exporter("community", export)
register_eraser("community", erase)
