"""403 and 404 under /console/ are console pages (layout, navigation, a way back); the API
keeps its JSON error body for the same statuses."""

from tests import factories as f


def test_404_inside_the_console_keeps_the_navigation(committee_staff, console_for):
    client = console_for(committee_staff)
    for path in ("/console/no-such-screen/", "/console/dispatch/999999/", "/console/matters/999999/"):
        response = client.get(path)
        assert response.status_code == 404, path
        html = response.content.decode()
        assert 'aria-label="主导航"' in html, path
        assert "派单台" in html and "页面不存在" in html, path
        assert 'href="/console/"' in html


def test_403_inside_the_console_for_a_moderator_on_a_staff_screen(moderator, console_for):
    response = console_for(moderator).get("/console/dispatch/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "没有权限" in html and 'aria-label="主导航"' in html
    assert "内容审核" in html  # the moderator's own screens are still one click away
    assert "派单台" not in html


def test_403_for_a_resident_explains_who_may_use_the_console(neighborhood, console_for):
    response = console_for(f.resident(neighborhood)).get("/console/")
    assert response.status_code == 403
    assert "仅限居委、街道工作人员或版主使用工作台" in response.content.decode()


def test_api_and_json_requests_keep_the_json_error_shape(committee_staff, console_for):
    client = console_for(committee_staff)
    api = client.get("/api/v1/no-such-endpoint")
    assert api.status_code == 404
    assert api.json()["error"]["code"] == "not_found"
    console_json = client.get("/console/no-such-screen/", HTTP_ACCEPT="application/json")
    assert console_json.status_code == 404
    assert console_json.json()["error"]["code"] == "not_found"


def test_admin_is_branded_in_chinese(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert "<title>数据管理 | 社区通管理后台</title>" in html
    assert '<div id="site-name"><a href="/admin/">社区通管理后台</a></div>' in html
    assert "--header-bg: #b3261e" in html
