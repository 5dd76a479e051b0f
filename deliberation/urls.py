from django.urls import path

from deliberation import api

urlpatterns = [
    path("topics", api.TopicListView.as_view(), name="topic-list"),
    path("me/topics", api.MyTopicsView.as_view(), name="me-topics"),
    path("topics/moderation-queue", api.ModerationQueueView.as_view(), name="topic-moderation-queue"),
    path("topics/<int:topic_id>/reports", api.TopicReportView.as_view(), name="topic-reports"),
    path(
        "topics/<int:topic_id>/replies/<int:reply_id>/reports",
        api.ReplyReportView.as_view(),
        name="topic-reply-reports",
    ),
    path("topics/<int:topic_id>", api.TopicDetailView.as_view(), name="topic-detail"),
    path("topics/<int:topic_id>/moderation", api.TopicModerationView.as_view(), name="topic-moderation"),
    path(
        "topics/<int:topic_id>/replies/<int:reply_id>/moderation",
        api.ReplyModerationView.as_view(),
        name="topic-reply-moderation",
    ),
    path("topics/<int:topic_id>/supports", api.TopicSupportView.as_view(), name="topic-supports"),
    path("topics/<int:topic_id>/follow", api.TopicFollowView.as_view(), name="topic-follow"),
    path("topics/<int:topic_id>/replies", api.TopicRepliesView.as_view(), name="topic-replies"),
    path("topics/<int:topic_id>/transitions", api.TopicTransitionView.as_view(), name="topic-transitions"),
    path("topics/<int:topic_id>/ballots", api.TopicBallotView.as_view(), name="topic-ballots"),
    path("topics/<int:topic_id>/receipts/<str:code>", api.TopicReceiptView.as_view(), name="topic-receipt"),
    path("topics/<int:topic_id>/milestones", api.TopicMilestonesView.as_view(), name="topic-milestones"),
    path(
        "topics/<int:topic_id>/milestones/<int:milestone_id>",
        api.MilestoneDetailView.as_view(),
        name="topic-milestone-detail",
    ),
    path("topics/<int:topic_id>/evaluations", api.TopicEvaluationsView.as_view(), name="topic-evaluations"),
]
