from django.urls import path

from community import api

urlpatterns = [
    path("images", api.ImageUploadView.as_view(), name="image-upload"),
    path("community/sections", api.SectionListView.as_view(), name="community-sections"),
    path("neighborhoods/<int:neighborhood_id>/feed", api.FeedView.as_view(), name="neighborhood-feed"),
    path("neighborhoods/<int:neighborhood_id>/mutes", api.MuteListCreateView.as_view(), name="neighborhood-mutes"),
    path("me/posts", api.MyPostsView.as_view(), name="me-posts"),
    path("posts", api.PostCreateView.as_view(), name="post-create"),
    path("posts/unanswered", api.UnansweredView.as_view(), name="posts-unanswered"),
    path("posts/<int:post_id>", api.PostDetailView.as_view(), name="post-detail"),
    path("posts/<int:post_id>/comments", api.CommentListCreateView.as_view(), name="post-comments"),
    path("posts/<int:post_id>/like", api.LikeView.as_view(), name="post-like"),
    path("posts/<int:post_id>/reports", api.PostReportView.as_view(), name="post-reports"),
    path("posts/<int:post_id>/moderation", api.PostModerationView.as_view(), name="post-moderation"),
    path("posts/<int:post_id>/moderation-log", api.PostModerationLogView.as_view(), name="post-moderation-log"),
    path("comments/<int:comment_id>", api.CommentDetailView.as_view(), name="comment-detail"),
    path("comments/<int:comment_id>/reports", api.CommentReportView.as_view(), name="comment-reports"),
    path("comments/<int:comment_id>/moderation", api.CommentModerationView.as_view(), name="comment-moderation"),
    path("moderation/queue", api.ModerationQueueView.as_view(), name="moderation-queue"),
]
