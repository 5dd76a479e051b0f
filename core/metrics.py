"""Prometheus metrics at /metrics (docs/deployment.md, Metrics).

prometheus_client directly, not django-prometheus: one middleware (core.requestlog) observes a
request once, next to its access line, where django-prometheus adds two middlewares and a score
of metric families per request (bench/README.md: the feed has little margin to spend), and its
database and cache metrics need its own backends in place of ours (core.cache.RedisCache, the
psycopg pool).

- Per request: `stq_http_request_duration_seconds{method,route,status}`, a histogram whose
  `_count` gives the request rate. `route` is the URL pattern (`api/v1/posts/<int:pk>`), never
  the path, so the label set stays small and holds no value.
- `stq_websocket_connections`: sockets open in this process, summed over live processes.
- Domain gauges computed at scrape time from indexed queries: each app registers its own with
  `register_gauge(...)` in its AppConfig.ready() (core imports no app); core registers the task
  queue depth and the scheduler's last run per job.

Several processes (uvicorn --workers N, daphne behind a balancer): set PROMETHEUS_MULTIPROC_DIR
to an empty directory shared by the processes of one machine, emptied at start; counters and
histograms are then summed over the processes by prometheus_client's multiprocess mode, and the
socket gauge uses its `livesum` mode (a dead process's files are dropped at the next scrape). Without it each process reports
its own, and the scrape sees whichever process answered. The domain gauges come from the
database and are the same whichever process answers.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from core.net import client_ip
from core.views import page_not_found

logger = logging.getLogger(__name__)

# Not registered with prometheus_client's global registry: each scrape builds its own (below).
HTTP_DURATION = Histogram(
    "stq_http_request_duration_seconds",
    "Time from the request reaching Django to the response leaving it, by route.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=None,
)
OPEN_SOCKETS = Gauge(
    "stq_websocket_connections",
    "WebSocket connections open now (summed over live processes in multiprocess mode).",
    multiprocess_mode="livesum",
    registry=None,
)

GaugeRows = Iterable[tuple[tuple[str, ...], float]]


@dataclass(frozen=True)
class DomainGauge:
    name: str
    documentation: str
    labelnames: tuple[str, ...]
    collect: Callable[[], GaugeRows]  # rows of (label values, value), read at scrape time


_GAUGES: dict[str, DomainGauge] = {}


def register_gauge(name: str, documentation: str, labelnames: Iterable[str], collect: Callable[[], GaugeRows]) -> None:
    _GAUGES[name] = DomainGauge(name, documentation, tuple(labelnames), collect)


def domain_gauges() -> list[DomainGauge]:
    return list(_GAUGES.values())


class DomainCollector:
    def collect(self):
        for gauge in domain_gauges():
            family = GaugeMetricFamily(gauge.name, gauge.documentation, labels=list(gauge.labelnames))
            try:
                rows = list(gauge.collect())
            except Exception:
                # One gauge that cannot be read (database away) must not hide the others.
                logger.warning("metrics: gauge %s could not be read", gauge.name, exc_info=True)
                continue
            for labels, value in rows:
                family.add_metric([str(v) for v in labels], float(value))
            yield family


def _forget_dead_processes(directory: str) -> None:
    """A worker uvicorn restarted never said goodbye: drop its `live` gauge files (its open
    sockets died with it). Counters and histograms of dead processes stay, as they should."""
    from prometheus_client import multiprocess

    for path in Path(directory).glob("gauge_live*_*.db"):
        try:
            pid = int(path.stem.rsplit("_", 1)[1])
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, directory)
        except (ValueError, PermissionError):
            continue


def scrape() -> bytes:
    registry = CollectorRegistry(auto_describe=True)
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        from prometheus_client import multiprocess

        _forget_dead_processes(directory)
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(HTTP_DURATION)
        registry.register(OPEN_SOCKETS)
    registry.register(DomainCollector())
    return generate_latest(registry)


def may_scrape(request: HttpRequest) -> bool:
    """A bearer token equal to METRICS_TOKEN, or a client address inside METRICS_ALLOWED_IPS."""
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in settings.METRICS_ALLOWED_IPS)


def metrics_view(request: HttpRequest) -> HttpResponse:
    # Refused like an unknown path: a scanner learns nothing from it.
    if request.method != "GET" or not may_scrape(request):
        return page_not_found(request)
    return HttpResponse(scrape(), content_type=CONTENT_TYPE_LATEST)
