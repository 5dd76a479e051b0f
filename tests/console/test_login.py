from django.test import Client

from tests import factories as f
from tests.console.conftest import PASSWORD, with_password


def test_officer_logs_in_with_password_and_lands_on_home(street_officer):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/console/login/")
    assert page.status_code == 200
    token = page.cookies["csrftoken"].value
    response = client.post(
        "/console/login/",
        {"username": "liujiedao", "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302, response.context["form"].errors
    assert response["Location"] == "/console/"
    assert client.get("/console/").status_code == 200


def test_login_without_csrf_token_is_refused(street_officer):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/console/login/", {"username": "liujiedao", "password": PASSWORD})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_resident_with_a_password_cannot_log_in(neighborhood):
    with_password(f.resident(neighborhood, username="zhangsan"))
    response = Client().post("/console/login/", {"username": "zhangsan", "password": PASSWORD})
    assert response.status_code == 200
    assert "没有工作台权限" in response.content.decode()


def test_wrong_password_says_so_in_chinese(street_officer):
    response = Client().post("/console/login/", {"username": "liujiedao", "password": "nope"})
    assert "用户名或密码错误" in response.content.decode()


def test_anonymous_visitor_is_sent_to_login(db):
    response = Client().get("/console/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith("/console/login/?next=/console/dashboard/")


def test_logged_in_resident_gets_403(neighborhood, console_for):
    response = console_for(f.resident(neighborhood)).get("/console/")
    assert response.status_code == 403


def test_moderator_may_use_home_but_not_staff_queues(moderator, console_for):
    client = console_for(moderator)
    assert client.get("/console/").status_code == 200
    assert client.get("/console/memberships/").status_code == 403
    assert client.get("/console/dashboard/").status_code == 403


def test_logout_is_a_post_and_ends_the_session(street_officer, console_for):
    client = console_for(street_officer)
    assert client.post("/console/logout/").status_code == 302
    assert client.get("/console/").status_code == 302
