from __future__ import annotations

from django import template
from django.urls import NoReverseMatch, reverse

from cases.access import unit_ids_of

register = template.Library()

# (key, label, url name, who: "staff" | "units" (staff or a responsible unit's members) | "moderation" | "district_admin")
NAV = [
    ("cases", "案件总台", "console:cases", "units"),
    ("dispatch", "派单台", "console:dispatch", "staff"),
    ("matters", "诉求办理", "console:matters", "units"),
    ("matters_map", "诉求地图", "console:matters_map", "staff"),
    ("matter_review", "诉求审核", "console:matter_review", "staff"),
    ("memberships", "入户审核", "console:memberships", "staff"),
    ("party_identity", "亮身份审核", "console:party_identity", "staff"),
    ("moderation", "内容审核", "console:moderation", "moderation"),
    ("mutes", "禁言管理", "console:mutes", "moderation"),
    ("unanswered", "待回复", "console:unanswered", "staff"),
    ("announce", "发布公告", "console:announce", "staff"),
    ("plans", "定期服务", "console:plans", "staff"),
    ("sensor_alerts", "设备告警", "console:sensor_alerts", "units"),
    ("sensors", "物联设备", "console:sensors", "staff"),
    ("topics", "议事", "console:topics", "staff"),
    ("roles", "角色管理", "console:roles", "staff"),
    ("dashboard", "数据看板", "console:dashboard", "staff"),
    ("access_log", "查看记录", "console:access_log", "district_admin"),
]


@register.inclusion_tag("console/_nav.html", takes_context=True)
def console_nav(context):
    request = context["request"]
    scope = getattr(request, "console", None)
    items = []
    for key, label, url_name, who in NAV:
        if scope is None:
            continue
        if who == "units" and not (scope.is_staff or unit_ids_of(request.user)):
            continue
        if who == "staff" and not scope.is_staff:
            continue
        if who == "moderation" and not scope.moderated_ids:
            continue
        if who == "district_admin" and not scope.district_ids:
            continue
        try:
            items.append({"key": key, "label": label, "url": reverse(url_name)})
        except NoReverseMatch:
            continue
    return {"items": items, "active": context.get("active")}


@register.filter
def get_item(mapping, key):
    return mapping.get(key, key) if mapping else key


@register.simple_tag(takes_context=True)
def sort_header(context, key: str, label: str):
    """A column heading that sorts the list (console/listing.py): ascending first, then descending;
    the active column carries aria-sort for screen readers."""
    from django.utils.html import format_html

    listing = context.get("listing")
    if listing is None:
        return label
    current = listing.sort
    descending_now = current == f"-{key}"
    query = listing.query.copy()
    query["sort"] = key if current != key else f"-{key}"
    aria = ""
    if current.removeprefix("-") == key:
        aria = "descending" if descending_now else "ascending"
    arrow = {"ascending": " ↑", "descending": " ↓"}.get(aria, "")
    if aria:
        return format_html('<a href="?{}" aria-sort="{}">{}{}</a>', query.urlencode(), aria, label, arrow)
    return format_html('<a href="?{}">{}</a>', query.urlencode(), label)


@register.inclusion_tag("console/_page_size.html", takes_context=True)
def page_size_links(context):
    from console.listing import PAGE_SIZES

    listing = context.get("listing")
    if listing is None:
        return {"links": []}
    links = []
    for size in PAGE_SIZES:
        query = listing.query.copy()
        query["per_page"] = str(size)
        links.append({"size": size, "href": "?" + query.urlencode(), "current": size == listing.per_page})
    return {"links": links}
