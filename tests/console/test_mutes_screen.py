"""禁言管理: a moderator mutes a resident from the console, sees the mute, and lifts it."""

from community.models import ContentStatus, ModerationLog, Mute, Post
from tests import factories as f


def test_moderator_mutes_and_lifts_and_the_log_shows_both(neighborhood, moderator, console_for):
    resident = f.resident(neighborhood, nickname="刷屏人")
    client = console_for(moderator)
    response = client.post(
        "/console/mutes/mute/",
        {"neighborhood": neighborhood.id, "user": resident.id, "hours": "24", "reason": "连续刷屏"},
        follow=True,
    )
    assert "已禁言 刷屏人" in response.content.decode()
    mute = Mute.objects.get(user=resident)
    page = client.get("/console/mutes/").content.decode()
    assert f'data-mute="{mute.id}"' in page and "连续刷屏" in page
    client.post("/console/mutes/unmute/", {"neighborhood": neighborhood.id, "user": resident.id, "reason": "已道歉"})
    assert f'data-mute="{mute.id}"' not in client.get("/console/mutes/").content.decode()
    log = client.get("/console/moderation/log/").content.decode()
    assert "解除禁言" in log and "连续刷屏" in log
    assert ModerationLog.objects.filter(target_user=resident).count() == 2


def test_lifting_twice_says_so(neighborhood, moderator, committee_staff, console_for):
    resident = f.resident(neighborhood)
    console_for(moderator).post(
        "/console/mutes/mute/", {"neighborhood": neighborhood.id, "user": resident.id, "hours": "2", "reason": "广告"}
    )
    body = {"neighborhood": neighborhood.id, "user": resident.id}
    console_for(committee_staff).post("/console/mutes/unmute/", body)
    response = console_for(moderator).post("/console/mutes/unmute/", body, follow=True)
    assert "该用户当前未被禁言" in response.content.decode()


def test_malformed_mute_changes_nothing(neighborhood, moderator, console_for):
    resident = f.resident(neighborhood)
    client = console_for(moderator)
    for body in (
        {"user": resident.id, "hours": "0", "reason": "x"},
        {"user": resident.id, "hours": "24", "reason": ""},
        {"user": "abc", "hours": "24", "reason": "x"},
    ):
        response = client.post("/console/mutes/mute/", {"neighborhood": neighborhood.id, **body}, follow=True)
        assert "请填写用户编号" in response.content.decode()
    assert not Mute.objects.exists()


def test_muting_someone_who_does_not_live_here_is_refused(neighborhood, other_neighborhood, moderator, console_for):
    stranger = f.resident(other_neighborhood)
    response = console_for(moderator).post(
        "/console/mutes/mute/",
        {"neighborhood": neighborhood.id, "user": stranger.id, "hours": "1", "reason": "x"},
        follow=True,
    )
    assert "不是" in response.content.decode()
    assert not Mute.objects.exists()


def test_moderator_of_another_neighborhood_gets_404(neighborhood, other_neighborhood, other_officer, console_for):
    resident = f.resident(neighborhood)
    client = console_for(other_officer)
    response = client.post(
        "/console/mutes/mute/", {"neighborhood": neighborhood.id, "user": resident.id, "hours": "1", "reason": "x"}
    )
    assert response.status_code == 404
    assert not Mute.objects.exists()
    assert (
        client.post("/console/mutes/unmute/", {"neighborhood": neighborhood.id, "user": resident.id}).status_code == 404
    )


def test_a_resident_cannot_open_the_mute_screen(neighborhood, console_for):
    assert console_for(f.resident(neighborhood)).get("/console/mutes/").status_code == 403


def test_moderation_queue_links_to_muting_the_author(neighborhood, moderator, console_for):
    author = f.resident(neighborhood)
    Post.objects.create(
        region=neighborhood,
        author=author,
        section="neighbors",
        title="待审",
        body="x",
        status=ContentStatus.PENDING_REVIEW,
    )
    page = console_for(moderator).get("/console/moderation/").content.decode()
    assert f"/console/mutes/?user={author.id}&neighborhood={neighborhood.id}" in page
