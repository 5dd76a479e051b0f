"""What a resident types is stored as readers will see it: no invisible or direction-changing
characters, one Unicode form. Cleaned once, where the API parses the body (core/text.py)."""

from __future__ import annotations

from community.models import Comment, Post
from tests.conftest import assert_error

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
RLO = "\u202e"  # right-to-left override: "\u202e三张给账转" displays reversed


def _post(api, neighborhood, **kw):
    body = {"neighborhood_id": neighborhood.id, "section": "neighbors", "title": "周末义卖", "body": "周六上午在小区广场", **kw}
    return api.post("/api/v1/posts", body)


def test_title_of_only_zero_width_characters_is_400_blank(api_for, zhangsan, neighborhood, standin):
    error = assert_error(_post(api_for(zhangsan), neighborhood, title=ZERO_WIDTH * 3), 400, "invalid_input")
    assert error["detail"]["codes"]["title"] == ["blank"]
    assert not Post.objects.exists()


def test_bidi_overrides_and_controls_are_removed_and_text_is_nfc(api_for, zhangsan, neighborhood, standin):
    title = f"{RLO}周末\u2066义卖\u2069\x07 cafe\u0301"
    body = "第一行\r\n第二行\t\u202a结束\u202c\x00"
    response = _post(api_for(zhangsan), neighborhood, title=title, body=body)
    assert response.status_code == 201, response.content
    post = Post.objects.get()
    assert post.title == "周末义卖 café"
    assert post.body == "第一行\n第二行\t结束"


def test_comment_of_only_bidi_controls_is_400_blank(api_for, zhangsan, neighborhood, standin):
    post_id = _post(api_for(zhangsan), neighborhood).json()["id"]
    response = api_for(zhangsan).post(f"/api/v1/posts/{post_id}/comments", {"body": "\u202d\u202e\u2067"})
    error = assert_error(response, 400, "invalid_input")
    assert error["detail"]["codes"]["body"] == ["blank"]
    assert not Comment.objects.exists()


def test_multipart_form_fields_are_cleaned_too(api_for, zhangsan, neighborhood, standin):
    response = api_for(zhangsan).client.post(
        "/api/v1/posts",
        {"neighborhood_id": neighborhood.id, "section": "neighbors", "title": f"{RLO}义卖{ZERO_WIDTH}", "body": "周六"},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert Post.objects.get().title == "义卖"
