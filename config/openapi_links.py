"""OpenAPI links: which response feeds which next call (drf-spectacular postprocessing hook).

A link says "the `id` in this 201 is the `{post_id}` of that operation". The mini-program
team reads them as the API's workflows, and schemathesis' stateful mode follows them
(tests/trust/test_fuzz_stateful.py): create a post, then read, comment on, like and report
that very post, instead of guessing ids that do not exist.

The table names operations by operationId; a link whose source or target is missing from
the schema (an app not installed, an operation renamed) is dropped, and a test holds the
table to the schema so a rename cannot empty it unnoticed.
"""

from __future__ import annotations

from typing import Any

ID = "$response.body#/id"

# (source operationId, status) → {link name: (target operationId, {target parameter: expression})}
LINKS: dict[tuple[str, str], dict[str, tuple[str, dict[str, str]]]] = {
    ("posts_create", "201"): {
        "GetPost": ("posts_retrieve", {"post_id": ID}),
        "EditPost": ("posts_partial_update", {"post_id": ID}),
        "CommentOnPost": ("posts_comments_create", {"post_id": ID}),
        "ListComments": ("posts_comments_retrieve", {"post_id": ID}),
        "LikePost": ("posts_like_create", {"post_id": ID}),
        "ReportPost": ("posts_reports_create", {"post_id": ID}),
        "ModeratePost": ("posts_moderation_create", {"post_id": ID}),
        "DeletePost": ("posts_destroy", {"post_id": ID}),
    },
    ("posts_comments_create", "201"): {
        "ReportComment": ("comments_reports_create", {"comment_id": ID}),
        "ModerateComment": ("comments_moderation_create", {"comment_id": ID}),
        "DeleteComment": ("comments_destroy", {"comment_id": ID}),
    },
    ("service_requests_create", "201"): {
        "GetServiceRequest": ("service_requests_detail", {"request_id": ID}),
        "MoveServiceRequest": ("service_requests_transition", {"request_id": ID}),
        "ServiceRequestEvents": ("service_requests_events", {"request_id": ID}),
        "RateServiceRequest": ("service_requests_rate", {"request_id": ID}),
    },
    ("service_requests_transition", "200"): {
        "GetServiceRequest": ("service_requests_detail", {"request_id": ID}),
        "MoveServiceRequestAgain": ("service_requests_transition", {"request_id": ID}),
    },
    ("topics_create", "201"): {
        "GetTopic": ("topics_retrieve", {"topic_id": ID}),
        "EditTopic": ("topics_partial_update", {"topic_id": ID}),
        "SupportTopic": ("topics_supports_create", {"topic_id": ID}),
        "ReplyToTopic": ("topics_replies_create", {"topic_id": ID}),
        "ListReplies": ("topics_replies_retrieve", {"topic_id": ID}),
        "MoveTopic": ("topics_transitions_create", {"topic_id": ID}),
        "FollowTopic": ("topics_follow_create", {"topic_id": ID}),
        "VoteOnTopic": ("topics_ballots_create", {"topic_id": ID}),
        "AddMilestone": ("topics_milestones_create", {"topic_id": ID}),
        "EvaluateTopic": ("topics_evaluations_create", {"topic_id": ID}),
    },
    ("matters_create", "201"): {
        "GetMatter": ("matters_detail", {"matter_id": ID}),
        "AcceptMatter": ("matters_accept", {"matter_id": ID}),
        "TransferMatter": ("matters_transfer", {"matter_id": ID}),
        "RejectMatter": ("matters_reject", {"matter_id": ID}),
        "ResolveMatter": ("matters_resolve", {"matter_id": ID}),
        "ConfirmMatter": ("matters_confirm", {"matter_id": ID}),
        "ReopenMatter": ("matters_reopen", {"matter_id": ID}),
        "RateMatter": ("matters_rate", {"matter_id": ID}),
        "PlusOneMatter": ("matters_plus_one", {"matter_id": ID}),
    },
    ("memberships_create", "201"): {
        "GetMembership": ("memberships_retrieve", {"membership_id": ID}),
        "DecideMembership": ("memberships_decision_create", {"membership_id": ID}),
        "WithdrawMembership": ("memberships_destroy", {"membership_id": ID}),
    },
}


def add_links(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    operations = {
        operation["operationId"]: operation
        for path_item in result.get("paths", {}).values()
        for operation in path_item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    for (source, status), links in LINKS.items():
        response = operations.get(source, {}).get("responses", {}).get(status)
        if response is None:
            continue
        present = {
            name: {"operationId": target, "parameters": dict(parameters)}
            for name, (target, parameters) in links.items()
            if target in operations
        }
        if present:
            response.setdefault("links", {}).update(present)
    return result
