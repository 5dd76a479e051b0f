"""A moderator (a resident, not staff) hides a reported post from the console."""

from community.models import ContentStatus, ModerationLog, Post, Report
from residents.models import Role
from tests import factories as f
from tests.console.browser.conftest import PHONE, login, screenshot
from tests.console.conftest import with_password


def test_moderator_hides_a_reported_post(new_page, asgi_server):
    street = f.StreetFactory(name="友谊路街道")
    neighborhood = f.NeighborhoodFactory(parent=street, name="宝林一村居委会")
    moderator = with_password(f.resident(neighborhood, username="zhoubanzhu", nickname="周版主"))
    f.RoleFactory(user=moderator, region=neighborhood, kind=Role.Kind.MODERATOR)
    author = f.resident(neighborhood, nickname="推销员")
    post = Post.objects.create(
        region=neighborhood,
        author=author,
        section="neighbors",
        title="特价保健品",
        body="加微信领取",
        status="published",
    )
    for reason in ("spam", "spam"):
        Report.objects.create(reporter=f.resident(neighborhood), post=post, reason=reason)

    page = new_page(PHONE)
    login(page, "zhoubanzhu")
    # A moderator sees the moderation screens only.
    assert page.get_by_role("link", name="派单台").count() == 0
    page.get_by_role("link", name="内容审核").first.click()
    card = page.locator(f'li[data-post="{post.id}"]')
    card.get_by_label("处理原因").fill("广告")
    screenshot(page, "moderation-phone")
    card.get_by_role("button", name="隐藏").click()
    page.get_by_text("已隐藏").wait_for()

    post.refresh_from_db()
    assert post.status == ContentStatus.HIDDEN
    assert ModerationLog.objects.filter(post=post, action="hide", actor=moderator, reason="广告").exists()
    page.get_by_role("link", name="查看管理日志").click()
    assert page.locator('tr[data-log="hide"]').count() == 1
    screenshot(page, "moderation-log-phone")
