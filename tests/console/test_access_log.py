"""敏感信息查看记录: staff full views are listed for the district admin, and nobody else."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from residents.models import SensitiveAccessLog
from tests import factories as f

URL = "/console/access-log/"


def test_staff_full_view_of_an_elders_address_shows_on_the_district_admins_page(
    neighborhood, committee_staff, district_admin, console_for, api_for
):
    owner = f.resident(neighborhood, nickname="王阿姨")
    elder = f.BeneficiaryFactory(owner=owner, neighborhood=neighborhood, address="共和新路100弄5号301室")
    response = api_for(committee_staff).get(f"/api/v1/beneficiaries/{elder.id}")
    assert response.status_code == 200, response.content
    assert response.json()["address"] == "共和新路100弄5号301室"

    page = console_for(district_admin).get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    entry = SensitiveAccessLog.objects.get(viewer=committee_staff, field="address")
    assert f'data-access="{entry.id}"' in html
    row = html.split(f'data-access="{entry.id}"')[1].split("</tr>")[0]
    assert "陈主任" in row and "chenjuwei" in row  # who
    assert "王阿姨" in row and f"beneficiary:{elder.id}" in row  # whose
    assert "地址" in row  # which field
    assert f"/api/v1/beneficiaries/{elder.id}" in row  # through which screen
    assert "<time datetime=" in row  # when
    # The nav link is there for the district admin.
    assert 'href="/console/access-log/"' in html


def test_street_officer_and_committee_staff_get_404_and_no_nav_link(committee_staff, street_officer, console_for):
    for user in (committee_staff, street_officer):
        client = console_for(user)
        assert client.get(URL).status_code == 404
        assert client.get(URL + "?format=csv").status_code == 404
        assert 'href="/console/access-log/"' not in client.get("/console/").content.decode()


def test_resident_is_refused_and_anonymous_is_sent_to_login(neighborhood, console_for, client):
    resident = f.resident(neighborhood)
    assert console_for(resident).get(URL).status_code == 403
    response = client.get(URL)
    assert response.status_code == 302 and "/console/login/" in response["Location"]


def _log(viewer, subject, field="address", days_ago=0):
    entry = SensitiveAccessLog.objects.create(
        viewer=viewer, subject_user=subject, subject_label=f"beneficiary:{subject.pk}", field=field, screen="/x"
    )
    if days_ago:
        SensitiveAccessLog.objects.filter(pk=entry.pk).update(viewed_at=timezone.now() - timedelta(days=days_ago))
    return entry


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_query_count_is_fixed_for_5_or_50_rows(neighborhood, district_admin, console_for):
    client = console_for(district_admin)
    viewers = [f.staff(neighborhood) for _ in range(3)]
    subjects = [f.resident(neighborhood) for _ in range(3)]
    for i in range(5):
        _log(viewers[i % 3], subjects[i % 3])
    few = _queries(client, URL)
    for _ in range(45):
        _log(f.staff(neighborhood), f.resident(neighborhood))
    assert _queries(client, URL) == few
    assert _queries(client, URL + "?format=csv") <= few


def test_filters_by_viewer_field_and_dates(neighborhood, committee_staff, street_officer, district_admin, console_for):
    subject = f.resident(neighborhood)
    by_staff = _log(committee_staff, subject, "address")
    by_officer_phone = _log(street_officer, subject, "phone", days_ago=10)
    old = _log(street_officer, subject, "health_notes", days_ago=40)
    client = console_for(district_admin)

    def shown(query: str) -> set[int]:
        html = client.get(URL + query).content.decode()
        return {e.id for e in (by_staff, by_officer_phone, old) if f'data-access="{e.id}"' in html}

    assert shown("") == {by_staff.id, by_officer_phone.id, old.id}
    assert shown("?viewer=chenju") == {by_staff.id}  # username
    assert shown("?viewer=刘科") == {by_officer_phone.id, old.id}  # nickname
    assert shown("?field=phone") == {by_officer_phone.id}
    today = timezone.localdate()
    assert shown(f"?from={today - timedelta(days=15)}") == {by_staff.id, by_officer_phone.id}
    assert shown(f"?to={today - timedelta(days=5)}") == {by_officer_phone.id, old.id}
    assert shown("?from=garbage&field=nonsense") == {by_staff.id, by_officer_phone.id, old.id}

    csv = client.get(URL + "?viewer=刘科&field=phone&format=csv")
    assert csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 2 and "刘科长" in lines[1] and "电话" in lines[1]


def test_newest_first(neighborhood, committee_staff, district_admin, console_for):
    subject = f.resident(neighborhood)
    older = _log(committee_staff, subject, days_ago=2)
    newer = _log(committee_staff, subject)
    html = console_for(district_admin).get(URL).content.decode()
    assert html.index(f'data-access="{newer.id}"') < html.index(f'data-access="{older.id}"')
