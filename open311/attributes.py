"""Service attributes (GeoReport v2 `metadata=true` services): the definition a partner reads
(GET services/{code}) and the `attribute[code]` answers it sends with POST requests.

Answers are checked against the definition (required, datatype, list keys) and kept twice: as
sent in `PartnerRequest.attributes`, and as readable lines after the description in the
matter's text, so the unit sees them wherever it sees the matter (console, API)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from core.errors import InvalidInput
from matters.models import MatterItem
from open311.models import ServiceAttribute

FORM_FIELD = re.compile(r"^attribute\[([^\]]+)\](\[\])?$")
MAX_VALUE = 500  # characters in one string/text answer


def attributes_of(item: MatterItem) -> list[ServiceAttribute]:
    return list(ServiceAttribute.objects.filter(item=item, is_active=True).order_by("order", "id"))


def definition_out(item: MatterItem, attributes: list[ServiceAttribute]) -> dict:
    """The spec's service definition: the service code and its attributes, in order."""
    return {
        "service_code": str(item.pk),
        "attributes": [
            {
                "variable": True,
                "code": a.code,
                "datatype": a.datatype,
                "required": a.required,
                "datatype_description": a.datatype_description or None,
                "order": a.order,
                "description": a.description,
                "values": [{"key": str(v["key"]), "name": v["name"]} for v in a.values] if a.is_list else [],
            }
            for a in attributes
        ],
    }


def sent_answers(data) -> dict[str, list[str]]:
    """`attribute[code]=v` and `attribute[code][]=v` form fields (the spec's encoding), or a JSON
    body's `"attribute": {"code": v | [v, …]}`: {code: [values]}."""
    answers: dict[str, list[str]] = {}
    nested = data.get("attribute") if hasattr(data, "get") else None
    if isinstance(nested, dict):
        for code, value in nested.items():
            answers[str(code)] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    for name in list(data.keys()) if hasattr(data, "keys") else []:
        match = FORM_FIELD.match(name)
        if match:
            values = data.getlist(name) if hasattr(data, "getlist") else [data[name]]
            answers.setdefault(match.group(1), []).extend(str(v) for v in values)
    return {code: [v.strip() for v in values if str(v).strip()] for code, values in answers.items()}


def _bad(attribute_code: str, message: str) -> InvalidInput:
    return InvalidInput("invalid_attribute", message, field=f"attribute[{attribute_code}]")


def _one(attribute: ServiceAttribute, values: list[str]):
    code, kind = attribute.code, attribute.datatype
    if kind != ServiceAttribute.Datatype.MULTIVALUELIST and len(values) > 1:
        raise _bad(code, f"attribute[{code}] 只能有一个值")
    if kind == ServiceAttribute.Datatype.MULTIVALUELIST:
        keys = {str(v["key"]) for v in attribute.values}
        if not set(values) <= keys:
            raise _bad(code, f"attribute[{code}] 须为选项的 key：{', '.join(sorted(keys))}")
        return list(dict.fromkeys(values))
    value = values[0]
    if kind == ServiceAttribute.Datatype.SINGLEVALUELIST:
        keys = {str(v["key"]) for v in attribute.values}
        if value not in keys:
            raise _bad(code, f"attribute[{code}] 须为选项的 key：{', '.join(sorted(keys))}")
    elif kind == ServiceAttribute.Datatype.NUMBER:
        try:
            if not Decimal(value).is_finite():
                raise InvalidOperation
        except InvalidOperation:
            raise _bad(code, f"attribute[{code}] 须为数字") from None
    elif kind == ServiceAttribute.Datatype.DATETIME:
        try:
            dt.datetime.fromisoformat(value)
        except ValueError:
            raise _bad(code, f"attribute[{code}] 须为 ISO 8601 时间") from None
    elif len(value) > MAX_VALUE:
        raise _bad(code, f"attribute[{code}] 最多 {MAX_VALUE} 字")
    return value


def check_answers(attributes: list[ServiceAttribute], sent: dict[str, list[str]]) -> dict:
    """{code: value} for the attributes answered; 400 for an unknown code, a missing required
    answer or a value of the wrong type."""
    by_code = {a.code: a for a in attributes}
    unknown = sorted(set(sent) - set(by_code))
    if unknown:
        raise InvalidInput("unknown_attribute", f"该服务没有属性 {unknown[0]}", field=f"attribute[{unknown[0]}]")
    answers = {}
    for attribute in attributes:
        values = sent.get(attribute.code) or []
        if not values:
            if attribute.required:
                raise InvalidInput("attribute_required", f"缺少必填属性 attribute[{attribute.code}]（{attribute.description}）",
                                   field=f"attribute[{attribute.code}]")
            continue
        answers[attribute.code] = _one(attribute, values)
    return answers


def as_text(attributes: list[ServiceAttribute], answers: dict) -> str:
    """The answers as lines a person reads: "问题：选项名"."""
    lines = []
    for attribute in attributes:
        if attribute.code not in answers:
            continue
        value = answers[attribute.code]
        if attribute.is_list:
            names = {str(v["key"]): v["name"] for v in attribute.values}
            keys = value if isinstance(value, list) else [value]
            value = "、".join(names[k] for k in keys)
        lines.append(f"{attribute.description}：{value}")
    return "\n".join(lines)
