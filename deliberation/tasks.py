"""Closing votes at their deadline. (Re-checking text WeChat could not see is moderation's
shared sweep, moderation/recheck.py, registered in deliberation.apps.)

`close_due_votes` closes every vote whose closes_at has passed. Run it from cron or a
scheduler (`manage.py close_due_votes`), or enqueue it; it is safe to run twice at
once: each close locks its topic, and the loser sees `decided` and skips it.
"""

from __future__ import annotations

import logging

from django.tasks import task

from core.errors import Conflict
from deliberation.actions.votes import do_close_vote, due_vote_topic_ids

logger = logging.getLogger(__name__)


@task()
def close_due_votes() -> list[int]:
    closed: list[int] = []
    for topic_id in due_vote_topic_ids():
        try:
            do_close_vote(topic_id=topic_id, actor=None, expected_from="voting", only_if_due=True)
        except Conflict:
            continue  # someone closed it first, or its deadline was moved
        closed.append(topic_id)
    if closed:
        logger.info("closed %d due votes: %s", len(closed), closed)
    return closed
