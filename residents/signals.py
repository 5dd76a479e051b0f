"""What happens in residents that other apps react to.

residents imports no app above it: its actions send these signals and whoever cares connects
a receiver in its own `AppConfig.ready()` (notifications/on_residents.py closes sockets,
writes inbox rows and publishes staff events). Every signal is sent inside the action's
transaction, after its rows are written; a receiver writes in that transaction and leaves
anything outside the database (a socket message, a broadcast, a task) to `on_commit`, so a
rolled-back action has no effect anywhere.
"""

from __future__ import annotations

from django.dispatch import Signal

# Sessions that end: the sockets opened with them close (4401).
token_revoked = Signal()  # token_id: one API token revoked (logout)
user_banned = Signal()  # user_id: every token revoked
user_erased = Signal()  # user_id: PIPL erasure (privacy.pipl.do_erase_user)

# Reach that narrows: the person's sockets re-check the streams they hold.
membership_ended = Signal()  # user_id, region_id: left, withdrawn or rejected
role_revoked = Signal()  # user_id, region_id

# Decisions and requests the people involved are told about.
membership_applied = Signal()  # membership
membership_decided = Signal()  # membership, approved
party_identity_requested = Signal()  # request
party_identity_decided = Signal()  # request, approved
role_granted = Signal()  # role
