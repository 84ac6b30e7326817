"""OpenAPI 3.1 of the metrics API, generated from contracts/http/metrics.py.

python -m services.metrics.openapi   # writes docs/openapi/metrics.json
"""

from __future__ import annotations

from pathlib import Path

from contracts.http import metrics as bodies
from contracts.http.reports import PeriodReport
from contracts.http.scheduler import Problem
from services.common.openapi import ApiDocument, Endpoint

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "openapi" / "metrics.json"
STATS_QUERY = ["campaign_id", "resource_id", "kind", "language", "province", "from", "to", "as_of"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

ENDPOINTS: list[Endpoint] = [
    ("post", "/v1/samples", "Post a batch of counter readings; each item is checked on its own, the valid "
     "rest is stored (422 only when every item is refused)", "collector", bodies.SampleBatch,
     bodies.SampleBatchResult, 200, []),
    ("get", "/v1/stats", "Airings planned / aired / missed, communes reached and counter totals, grouped by "
     "campaign, province, commune, resource, kind, platform, language, status, day or month; as_of = a log "
     "position or a past time; groups in keyset pages (Link rel=next)", "any", None, bodies.Stats, 200,
     bodies.StatsQuery),
    ("get", "/v1/airings/{airing_id}/metrics", "An airing's latest counters and their history", "any",
     None, bodies.AiringMetrics, 200, bodies.AsOfQuery),
    ("get", "/v1/livestreams", "Livestreams newest first with their counters", "any", None,
     bodies.LivestreamList, 200, bodies.LivestreamsQuery),
    ("get", "/v1/stream", "Server-Sent Events: an 'airing' message per changed airing, id = log position; "
     "reconnect with Last-Event-ID to miss nothing (token may be ?token=)", "any", None,
     "text/event-stream", 200, ["campaign_id", "resource_id", "airing_id", "token"]),
    ("get", "/v1/reports/monthly", "The month's report of a province or a campaign (JSON, CSV or XLSX; "
     "Vietnamese labels; the same log gives the same bytes)", "any", None,
     {"application/json": bodies.MonthlyReport, "text/csv": None, XLSX: None}, 200,
     ["month", "province", "campaign_id", "format", "as_of"]),
    ("get", "/v1/reports", "The report of any period: period=YYYY-MM, YYYY-Qn or YYYY, or from/to (days, "
     "inclusive, within 2000-01-01 … 2100-12-31), for a province, campaign, commune, language or platform; "
     "loudspeakers by language and month, each platform on its own line (JSON, CSV or XLSX)", "any", None,
     PeriodReport, 200, ["period", "from", "to", "province", "campaign_id", "commune", "language", "platform",
                         "format", "as_of"]),
    ("post", "/v1/admin/rebuild", "Rebuild every statistic from the log into fresh tables, then swap them in",
     "planner without a province", None, bodies.Rebuilt, 200, []),
    ("get", "/dashboard", "The live dashboard page (open with ?token=)", "any", None, "text/html", 200,
     ["token", "month", "province", "airing_id"]),
]  # fmt: skip

API = ApiDocument(
    title="Loa metrics",
    description="View, interaction, share and comment counts of airings; statistics live, replayed or as of "
    "a past point; live updates as Server-Sent Events; monthly reports. Errors are RFC 9457 problem+json.",
    endpoints=ENDPOINTS,
    problem=Problem,
    path=DOCUMENT,
)

if __name__ == "__main__":
    API.write(ROOT)
