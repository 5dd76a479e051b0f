"""GeoReport v2's XML: `<services><service>…`, `<service_requests><request>…`,
`<service_definition>…`, `<errors><error>…`, each field an element of the same name (None →
an empty element, booleans `true`/`false`). The view names its root and item elements; an
answer that is one object (a service definition) has no item element, and a list inside it is
a container of the items the view's `xml_lists` names (`<attributes><attribute>…`). An error
answer is always `<errors>`."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from rest_framework.renderers import BaseRenderer, JSONRenderer


class GeoReportJSONRenderer(JSONRenderer):
    format = "json"


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fields(element: ET.Element, row: dict, lists: dict[str, str]) -> None:
    for name, value in row.items():
        child = ET.SubElement(element, name)
        if isinstance(value, list):
            for item in value:
                _fields(ET.SubElement(child, lists[name]), item, lists)
        else:
            child.text = _text(value)


class GeoReportXMLRenderer(BaseRenderer):
    media_type = "text/xml"
    format = "xml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        renderer_context = renderer_context or {}
        response = renderer_context.get("response")
        view = renderer_context.get("view")
        if response is not None and response.status_code >= 400:
            root_name, item_name = "errors", "error"
        else:
            root_name, item_name = view.xml_root, view.xml_item
        lists = getattr(view, "xml_lists", {}) if root_name != "errors" else {}
        root = ET.Element(root_name)
        if isinstance(data, dict):
            _fields(root, data, lists)
        else:
            for row in data or []:
                _fields(ET.SubElement(root, item_name), row, lists)
        ET.indent(root)
        return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False)
