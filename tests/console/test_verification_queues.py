from residents.models import Membership, PartyIdentityRequest
from tests import factories as f


def test_committee_staff_sees_pending_memberships_of_their_neighborhood_only(
    neighborhood, other_neighborhood, committee_staff, console_for
):
    mine = f.MembershipFactory(
        neighborhood=neighborhood,
        status=Membership.Status.PENDING,
        is_current=False,
        user__nickname="王五",
    )
    f.MembershipFactory(
        neighborhood=other_neighborhood,
        status=Membership.Status.PENDING,
        is_current=False,
        user__nickname="外人",
    )
    page = console_for(committee_staff).get("/console/memberships/").content.decode()
    assert f'data-membership="{mine.id}"' in page and "王五" in page
    assert "外人" not in page


def test_room_numbers_are_masked_in_the_queue(neighborhood, committee_staff, console_for):
    f.MembershipFactory(
        neighborhood=neighborhood,
        status=Membership.Status.PENDING,
        is_current=False,
        room="1302室",
    )
    page = console_for(committee_staff).get("/console/memberships/").content.decode()
    assert "1302室" not in page and "1****" in page


def test_officer_of_other_street_sees_none_of_them(neighborhood, other_officer, console_for):
    f.MembershipFactory(
        neighborhood=neighborhood,
        status=Membership.Status.PENDING,
        is_current=False,
        user__nickname="王五",
    )
    page = console_for(other_officer).get("/console/memberships/").content.decode()
    assert "王五" not in page


def test_filter_by_a_neighborhood_outside_scope_is_ignored(
    neighborhood, other_neighborhood, committee_staff, console_for
):
    f.MembershipFactory(
        neighborhood=other_neighborhood,
        status=Membership.Status.PENDING,
        is_current=False,
        user__nickname="外人",
    )
    page = (
        console_for(committee_staff).get(f"/console/memberships/?neighborhood={other_neighborhood.id}").content.decode()
    )
    assert "外人" not in page


def test_party_identity_queue_lists_pending_requests_in_scope(
    neighborhood, other_neighborhood, street_officer, console_for
):
    mine = PartyIdentityRequest.objects.create(
        user=f.resident(neighborhood, nickname="李四"),
        neighborhood=neighborhood,
        party_branch="宝林一村党总支",
    )
    PartyIdentityRequest.objects.create(
        user=f.resident(other_neighborhood, nickname="外人"),
        neighborhood=other_neighborhood,
        party_branch="塘后路党总支",
    )
    page = console_for(street_officer).get("/console/party-identity/").content.decode()
    assert f'data-party-request="{mine.id}"' in page
    assert "外人" not in page


def test_home_counts_link_to_their_queues(neighborhood, other_neighborhood, committee_staff, console_for):
    for _ in range(2):
        f.MembershipFactory(
            neighborhood=neighborhood,
            status=Membership.Status.PENDING,
            is_current=False,
        )
    f.MembershipFactory(
        neighborhood=other_neighborhood,
        status=Membership.Status.PENDING,
        is_current=False,
    )
    PartyIdentityRequest.objects.create(user=f.resident(neighborhood), neighborhood=neighborhood, party_branch="党总支")
    page = console_for(committee_staff).get("/console/").content.decode()
    assert 'data-card="memberships"' in page
    assert 'href="/console/memberships/"' in page and 'data-count="2"' in page
    assert 'href="/console/party-identity/"' in page and 'data-count="1"' in page
