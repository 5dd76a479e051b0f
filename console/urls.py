from django.urls import path

from console.views import (
    access_log,
    auth,
    case_board,
    community,
    dashboard,
    deliberation,
    dispatch,
    home,
    matter_review,
    matters,
    matters_map,
    plans,
    realtime,
    roles,
    sensors,
    verification,
)

app_name = "console"
urlpatterns = [
    path("login/", auth.ConsoleLoginView.as_view(), name="login"),
    path("logout/", auth.ConsoleLogoutView.as_view(), name="logout"),
    path("", home.home, name="home"),
    path("counts/", home.home_counts, name="home_counts"),
    path("realtime-token/", realtime.realtime_token, name="realtime-token"),
    path("memberships/", verification.memberships, name="memberships"),
    path("memberships/<int:membership_id>/decide/", verification.membership_decide, name="membership_decide"),
    path("party-identity/", verification.party_identity, name="party_identity"),
    path("party-identity/<int:request_id>/decide/", verification.party_identity_decide, name="party_identity_decide"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
]

urlpatterns += [
    path("dispatch/", dispatch.board, name="dispatch"),
    path("dispatch/bulk-assign/", dispatch.bulk_assign, name="dispatch_bulk_assign"),
    path("dispatch/counts/", dispatch.board_counts_json, name="dispatch_counts"),
    path("dispatch/<int:request_id>/", dispatch.detail, name="dispatch_detail"),
    path("dispatch/<int:request_id>/row/", dispatch.board_row, name="dispatch_row"),
    path("dispatch/<int:request_id>/transition/", dispatch.transition, name="dispatch_transition"),
]

urlpatterns += [
    path("cases/", case_board.board, name="cases"),
    path("cases/counts/", case_board.board_counts_json, name="cases_counts"),
    path("cases/<int:case_id>/row/", case_board.board_row, name="case_row"),
    path("cases/service-request/<int:request_id>/row/", case_board.board_row_for_request, name="case_row_for_request"),
]

urlpatterns += [
    path("moderation/", community.moderation_queue, name="moderation"),
    path("moderation/log/", community.moderation_log, name="moderation_log"),
    path("moderation/post/<int:item_id>/", community.moderate, {"kind": "post"}, name="moderate_post"),
    path("moderation/comment/<int:item_id>/", community.moderate, {"kind": "comment"}, name="moderate_comment"),
    path("unanswered/", community.unanswered, name="unanswered"),
    path("unanswered/<int:post_id>/reply/", community.official_reply, name="official_reply"),
    path("announce/", community.announce, name="announce"),
]

urlpatterns += [
    path("topics/", deliberation.topic_list, name="topics"),
    path("topics/<int:topic_id>/", deliberation.topic_detail, name="topic_detail"),
    path("topics/<int:topic_id>/transition/", deliberation.topic_transition, name="topic_transition"),
    path("topics/<int:topic_id>/milestones/", deliberation.add_milestone, name="topic_milestone"),
]

urlpatterns += [
    path(
        "topics/<int:topic_id>/milestones/<int:milestone_id>/", deliberation.edit_milestone, name="topic_milestone_edit"
    ),
    path("roles/", roles.roles, name="roles"),
    path("roles/grant/", roles.grant, name="role_grant"),
    path("roles/<int:role_id>/revoke/", roles.revoke, name="role_revoke"),
    path("mutes/", community.mutes, name="mutes"),
    path("mutes/mute/", community.mute, name="mute"),
    path("mutes/unmute/", community.unmute, name="unmute"),
    path("plans/", plans.plans, name="plans"),
    path("plans/<int:plan_id>/<str:action>/", plans.plan_action, name="plan_action"),
    path("access-log/", access_log.access_log, name="access_log"),
]

urlpatterns += [
    path("matters/", matters.board, name="matters"),
    path("matters/map/", matters_map.matters_map, name="matters_map"),
    path("matters/map/points/", matters_map.matters_map_data, name="matters_map_data"),
    path("matters/review/", matter_review.queue, name="matter_review"),
    path("matters/review/<int:matter_id>/", matter_review.decide, name="matter_review_decide"),
    path("matters/<int:matter_id>/", matters.detail, name="matter_detail"),
    path("matters/<int:matter_id>/<str:action>/", matters.act, name="matter_act"),
]

urlpatterns += [
    path("sensors/", sensors.devices, name="sensors"),
    path("sensors/devices/<int:device_id>/", sensors.device_detail, name="sensor_device"),
    path("sensors/import/", sensors.import_devices, name="sensor_import"),
    path("sensors/alerts/", sensors.alerts, name="sensor_alerts"),
    path("sensors/alerts/<int:case_id>/close/", sensors.close_alert, name="sensor_alert_close"),
]
