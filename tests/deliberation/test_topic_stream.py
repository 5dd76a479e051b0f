"""A topic's moves, replies and milestones are published on `topic.<id>`: whoever may read the
topic may follow that stream (live and through /events); nobody else, in the same shape as a
topic that does not exist. The journey suite found the prefix unregistered: every subscribe
was refused."""

from __future__ import annotations

from notifications.realtime import publish_on_commit
from tests import factories as f
from tests.conftest import assert_error
from tests.deliberation.conftest import topic_in


def test_neighbours_follow_a_topics_stream_and_outsiders_get_404(api_for, neighborhood, other_neighborhood,
                                                                django_capture_on_commit_callbacks):
    author = f.resident(neighborhood)
    topic = topic_in(neighborhood, author)
    with django_capture_on_commit_callbacks(execute=True):
        publish_on_commit(f"topic.{topic.pk}", "topic.updated", {"topic_id": topic.pk})
    neighbour = f.resident(neighborhood)
    events = api_for(neighbour).get("/api/v1/events", {"stream": f"topic.{topic.pk}"})
    assert events.status_code == 200, events.content
    assert "topic.updated" in [e["type"] for e in events.json()["results"]]
    outsider = f.resident(other_neighborhood)
    assert_error(api_for(outsider).get("/api/v1/events", {"stream": f"topic.{topic.pk}"}), 404, "stream_not_found")
    assert_error(api_for(neighbour).get("/api/v1/events", {"stream": "topic.999999"}), 404, "stream_not_found")
    assert_error(api_for(neighbour).get("/api/v1/events", {"stream": "topic.abc"}), 404, "stream_not_found")
