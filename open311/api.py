"""GeoReport v2 views under /open311/v2/ (docs/open311.md): JSON or XML by the URL's suffix,
the partner's api_key instead of a bearer token, and errors in the spec's own shape — a list
of `{code, description}` with the HTTP status as code — not the `{"error": …}` shape of
/api/v1 (the one exception handler, core.exceptions, still decides code and status; this
module only re-dresses its answer)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import InvalidInput, NotAuthenticated, NotFound
from core.exceptions import api_exception_handler
from core.idempotency import read_key
from core.parsers import BoundedJSONParser
from core.throttling import ScopedUserThrottle
from matters.models import MatterItem
from open311 import attributes, georeport, idempotency, keys, params
from open311.access import access_request, visible_requests_for
from open311.actions import do_file_request
from open311.models import PartnerKey
from open311.renderers import GeoReportJSONRenderer, GeoReportXMLRenderer

DEFAULT_WINDOW = timedelta(days=90)  # the spec's default for a list without dates
MAX_REQUESTS = 1000  # the spec's default cap on one list
MAX_DESCRIPTION = 4000  # the spec's limit


def georeport_exception_handler(exc, context):
    response = api_exception_handler(exc, context)
    if response is None:
        return None
    error = response.data["error"]
    description = f"{error['code']}: {error['message']}"
    detail = error.get("detail") or {}
    if detail.get("field"):
        description += f" ({detail['field']})"
    elif isinstance(detail.get("fields"), dict):
        description += f" ({', '.join(detail['fields'])})"
    response.data = [{"code": response.status_code, "description": description}]
    return response


class PartnerKeyAuthentication(BaseAuthentication):
    """`api_key` from the query string or the form body: request.auth is the PartnerKey (or
    None when none was sent; the views that need one say so)."""

    def authenticate(self, request):
        raw = request.query_params.get("api_key")
        if raw is None and request.method == "POST" and hasattr(request.data, "get"):
            raw = request.data.get("api_key")
        if raw is None:
            return None
        return (AnonymousUser(), keys.authenticate(raw))


class PartnerThrottle(ScopedUserThrottle):
    """Filing is counted per key (THROTTLE_OPEN311), like the other write endpoints per user."""

    scope = "open311"

    def get_cache_key(self, request, view) -> str:
        key = request.auth
        ident = f"key:{key.pk}" if isinstance(key, PartnerKey) else f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class GeoReportView(APIView):
    authentication_classes = [PartnerKeyAuthentication]
    permission_classes = [AllowAny]
    renderer_classes = [GeoReportJSONRenderer, GeoReportXMLRenderer]
    parser_classes = [FormParser, BoundedJSONParser]
    xml_root = "service_requests"
    xml_item = "request"

    def get_exception_handler(self):
        return georeport_exception_handler

    def partner(self) -> PartnerKey:
        if not isinstance(self.request.auth, PartnerKey):
            raise NotAuthenticated("api_key_required", "缺少 api_key")
        return self.request.auth


class ServicesView(GeoReportView):
    """GET services.{json,xml}: every active matter item; no key needed (the spec's catalogue is public)."""

    xml_root, xml_item = "services", "service"

    def get(self, request, format=None):
        items = MatterItem.objects.filter(is_active=True, category__is_active=True).select_related("category")
        items = georeport.with_metadata(items).order_by("category__sort_order", "category_id", "sort_order", "id")
        return Response([georeport.service_out(item) for item in items])


def active_item(code: str) -> MatterItem | None:
    if not (code.isascii() and code.isdigit() and len(code) < 19):
        return None
    return MatterItem.objects.select_related("category").filter(
        pk=int(code), is_active=True, category__is_active=True
    ).first()


class ServiceDefinitionView(GeoReportView):
    """GET services/{code}.{json,xml}: the attributes a partner answers when filing this service.
    A service without attributes (metadata=false) has no definition: 404, as the spec says."""

    xml_root, xml_item = "service_definition", None
    xml_lists = {"attributes": "attribute", "values": "value"}

    def get(self, request, service_code: str, format=None):
        item = active_item(service_code)
        if item is None:
            raise NotFound("unknown_service_code", "service_code 不存在或已停用")
        defined = attributes.attributes_of(item)
        if not defined:
            raise NotFound("service_definition_not_available", "该服务没有附加属性（metadata=false），没有服务定义")
        return Response(attributes.definition_out(item, defined))


class RequestsView(GeoReportView):
    throttle_classes = [PartnerThrottle]

    def get(self, request, format=None):
        key = self.partner()
        q = request.query_params
        matters = visible_requests_for(key)
        ids = params.parse_list("service_request_id", q.get("service_request_id"), integers=True)
        if ids:  # the spec: with ids, every other filter is ignored
            matters = matters.filter(pk__in=ids)
        else:
            codes = params.parse_list("service_code", q.get("service_code"), integers=True)
            start = params.parse_datetime("start_date", q.get("start_date"))
            end = params.parse_datetime("end_date", q.get("end_date"))
            statuses = params.parse_statuses(q.get("status"))
            if start is None and end is None:
                start = timezone.now() - DEFAULT_WINDOW
            if codes:
                matters = matters.filter(item_id__in=codes)
            if start is not None:
                matters = matters.filter(created_at__gte=start)
            if end is not None:
                matters = matters.filter(created_at__lte=end)
            if statuses == {"open"}:
                matters = matters.filter(case__status__in=georeport.OPEN_STATUSES)
            elif statuses == {"closed"}:
                matters = matters.filter(case__status__in=georeport.CLOSED_STATUSES)
        page = georeport.for_requests(matters).order_by("-created_at", "-id")[:MAX_REQUESTS]
        return Response([georeport.request_out(matter, key) for matter in page])

    def post(self, request, format=None):
        key = self.partner()
        data = request.data if hasattr(request.data, "get") else {}
        idempotency_key = read_key(request)
        fingerprint = idempotency.fingerprint(data) if idempotency_key else ""
        if idempotency_key:
            first = idempotency.replay(key, idempotency_key, fingerprint)
            if first is not None:
                return first
        code = str(data.get("service_code") or "").strip()
        if not code:
            raise InvalidInput("service_code_required", "缺少 service_code", field="service_code")
        item = active_item(code)
        if item is None:
            raise InvalidInput("unknown_service_code", "service_code 不存在或已停用", field="service_code")
        latitude, longitude = params.parse_point(data.get("lat"), data.get("long"))
        description = str(data.get("description") or "").strip()
        if not description:
            raise InvalidInput("description_required", "缺少 description", field="description")
        if len(description) > MAX_DESCRIPTION:
            raise InvalidInput("description_too_long", f"description 最多 {MAX_DESCRIPTION} 字", field="description")
        if str(data.get("media_url") or "").strip():
            # Fetching a URL a partner names is a request-forgery and size risk: refused, not ignored.
            raise InvalidInput("media_url_not_supported", "本平台不下载外部图片，请去掉 media_url 后提交（照片可由办理单位补充）",
                               field="media_url")
        defined = attributes.attributes_of(item)
        answers = attributes.check_answers(defined, attributes.sent_answers(data))
        try:
            matter = do_file_request(
                key=key, item=item, description=description, latitude=latitude, longitude=longitude,
                address=str(data.get("address_string") or "").strip(), attributes=answers,
                attributes_text=attributes.as_text(defined, answers), idempotency_key=idempotency_key,
                fingerprint=fingerprint,
            )
        except IntegrityError:
            if not idempotency_key:
                raise
            # A concurrent repeat with the same key committed first: this attempt rolled back whole.
            return idempotency.replay(key, idempotency_key, fingerprint, racing=True)
        return Response([georeport.created_out(matter)], status=201)


class RequestView(GeoReportView):
    def get(self, request, request_id: int, format=None):
        key = self.partner()
        matter = georeport.for_requests(visible_requests_for(key)).filter(pk=access_request(key, request_id).pk).get()
        return Response([georeport.request_out(matter, key)])


class NotFoundView(GeoReportView):
    """Any other path under /open311/v2/: 404 in the spec's shape (XML when it ends in .xml)."""

    def dispatch(self, request, *args, **kwargs):
        kwargs["format"] = "xml" if request.path.endswith(".xml") else "json"
        return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        raise NotFound("not_found", "没有这个 Open311 接口")
