"""Record-level exports of the console's lists (派单台, 诉求办理, the 入户 and 亮身份 queues).

A list view hands over the queryset it is about to page — filtered, region-scoped and sorted
exactly as the screen — and `?format=csv|xlsx` gets every row of it, not one page: rows are
read in chunks (`iterator`), CSV is streamed, XLSX is written by openpyxl's write-only
workbook. Cells keep their types: numbers stay numbers and times are spreadsheet dates in
the server's time zone; the header row is Chinese and frozen. Each export writes a
`stq.audit` line (who, which list, which format, how many rows; no filter values), as the
staff screens' writes do (core/requestlog.py).

Dashboard tables (aggregates, already in memory) are exported by console/export.py.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import quote

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from core.requestlog import audit_logger, route_of

FORMATS = ("csv", "xlsx")
CHUNK = 2000
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


@dataclass(frozen=True)
class Column:
    header: str  # Chinese, as the screen's heading
    value: Callable[[object], object]
    width: int = 14


def export_format(request: HttpRequest) -> str | None:
    fmt = request.GET.get("format")
    return fmt if fmt in FORMATS else None


def _plain(value):
    """A cell value a spreadsheet understands: aware datetimes in local time without tzinfo
    (Excel has no time zones), enums as their labels, None as empty."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.replace(tzinfo=None, microsecond=0)
    if isinstance(value, bool | int | float | Decimal | date | str):
        return value
    return str(value)


def _csv_text(value) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def _rows(queryset: QuerySet, columns: list[Column]) -> Iterator[list]:
    for obj in queryset.iterator(chunk_size=CHUNK):
        yield [_plain(column.value(obj)) for column in columns]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_stream(columns: list[Column], rows: Iterable[list]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([c.header for c in columns])  # BOM: Excel opens UTF-8 Chinese right
    for row in rows:
        yield writer.writerow([_csv_text(v) for v in row])


def _xlsx_bytes(title: str, columns: list[Column], rows: Iterable[list]) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31])
    ws.freeze_panes = "A2"
    for i, column in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = column.width
    header = []
    for column in columns:
        cell = WriteOnlyCell(ws, value=column.header)
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(header)
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(ws, value=value)
            if isinstance(value, datetime):
                cell.number_format = DATETIME_FORMAT
            cells.append(cell)
        ws.append(cells)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def export_records(
    request: HttpRequest, *, key: str, title: str, columns: list[Column], queryset: QuerySet, fmt: str
) -> HttpResponse | StreamingHttpResponse:
    """Every row of `queryset` (the screen's own, sorted) as CSV or XLSX, audited."""
    total = queryset.count()
    audit_logger.info(
        "staff export %s %s %s rows",
        key,
        fmt,
        total,
        extra={
            "stq": {
                "user_id": request.user.pk,
                "method": request.method,
                "route": route_of(request),
                "export": key,
                "format": fmt,
                "rows": total,
            }
        },
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    rows = _rows(queryset, columns)
    if fmt == "xlsx":
        response = HttpResponse(
            _xlsx_bytes(title, columns, rows),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        response = StreamingHttpResponse(_csv_stream(columns, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f"attachment; filename=\"{key}-{stamp}.{fmt}\"; filename*=UTF-8''{quote(title)}-{stamp}.{fmt}"
    )
    return response


def _display(obj, field: str):
    return getattr(obj, f"get_{field}_display")()


DISPATCH_COLUMNS = [
    Column("工单号", lambda r: r.id, 8),
    Column("服务大类", lambda r: r.item.category.name),
    Column("服务项目", lambda r: r.item.name, 20),
    Column("服务对象", lambda r: r.beneficiary_name or "申请人本人"),
    Column("代申请", lambda r: "是" if r.filed_on_behalf else "否", 8),
    Column("居委/村", lambda r: r.neighborhood.name, 18),
    Column("状态", lambda r: _display(r, "status"), 10),
    Column("提交时间", lambda r: r.created_at, 18),
    Column("截止时间", lambda r: r.due_at if r.is_open else None, 18),
    Column("已超时", lambda r: "是" if r.is_overdue else "否", 8),
    Column("服务机构", lambda r: r.assigned_org.name if r.assigned_org else None, 20),
]

MATTER_COLUMNS = [
    Column("诉求号", lambda m: m.id, 8),
    Column("分类", lambda m: m.category.name),
    Column("事项", lambda m: m.item.name, 20),
    Column("地点", lambda m: m.place, 20),
    Column("居委/村", lambda m: m.neighborhood.name, 18),
    Column("责任单位", lambda m: m.case.unit.name if m.case.unit else None, 22),
    Column("督办单位", lambda m: m.case.supervising_unit.name if m.case.supervising_unit else None, 22),
    Column("状态", lambda m: _display(m.case, "status"), 12),
    Column("提交时间", lambda m: m.created_at, 18),
    Column("截止时间", lambda m: m.case.due_at, 18),
]

MEMBERSHIP_COLUMNS = [
    Column("申请号", lambda m: m.id, 8),
    Column("申请人", lambda m: m.user.display_name),
    Column("居委/村", lambda m: m.neighborhood.name, 18),
    Column("楼组", lambda m: m.building_group.name if m.building_group else None),
    Column("楼号", lambda m: m.building or None, 10),
    Column("方式", lambda m: m.joined_via, 10),
    Column("状态", lambda m: _display(m, "status"), 10),
    Column("申请时间", lambda m: m.created_at, 18),
]

PARTY_IDENTITY_COLUMNS = [
    Column("申请号", lambda r: r.id, 8),
    Column("申请人", lambda r: r.user.display_name),
    Column("居委/村", lambda r: r.neighborhood.name, 18),
    Column("所在党组织", lambda r: r.party_branch, 22),
    Column("入党年份", lambda r: r.joined_party_year, 10),
    Column("申请时间", lambda r: r.created_at, 18),
]
