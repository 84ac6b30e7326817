"""OpenAPI 3.1 of the scheduler API, generated from the contracts in contracts/http/scheduler.py.

python -m services.scheduler.openapi   # writes docs/openapi/scheduler.json
"""

from __future__ import annotations

from pathlib import Path

from contracts.http import access, bumped, grants
from contracts.http import confirmations as as_run
from contracts.http import scheduler as bodies
from services.common.openapi import ApiDocument, Endpoint

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "openapi" / "scheduler.json"

# (method, path, summary, roles, request body, response, status(es), query parameters)
ENDPOINTS: list[Endpoint] = [
    ("post", "/v1/airings", "Plan an airing (409 names the airings in the way; emergencies bump normal ones; "
     "makeup_of names the missed airing it makes up for)",
     "planner", bodies.AiringRequest, bodies.AiringView, 201, []),
    ("get", "/v1/airings", "Find airings by province, commune (resource_id), kind, language, status, "
     "campaign, series and period, sorted by start (sort=-starts_at: newest first); keyset pages: the "
     "next page is in Link rel=next and next_cursor, total only with total=true (offset is deprecated); "
     "a parameter not listed here is refused (400 naming it)",
     "any", None, bodies.AiringPage, 200, bodies.AiringsQuery),
    ("get", "/v1/airings/{airing_id}", "One airing", "any", None, bodies.AiringView, 200, []),
    ("post", "/v1/airings/{airing_id}/reschedule", "Move an airing", "planner",
     bodies.RescheduleRequest, bodies.AiringView, 200, []),
    ("post", "/v1/airings/{airing_id}/cancel", "Cancel an airing", "planner",
     bodies.CancelRequest, bodies.AiringView, 200, []),
    ("post", "/v1/airings/{airing_id}/restore-bumped", "Give the airings this emergency bumped their slots "
     "back, once it was cancelled or ended early: one result per airing (restored, or refused naming the "
     "airing in the way); a bumped airing may also be rescheduled or cancelled on its own",
     "planner", None, bumped.RestoreBumpedResult, 200, []),
    ("post", "/v1/airings/{airing_id}/confirmation", "Record what aired (operator of the resource)",
     "operator", bodies.ConfirmationRequest, bodies.AiringView, 200, []),
    ("post", "/v1/airings/{airing_id}/correction", "Change a confirmation explicitly, saying why (a second "
     "confirmation with another record is refused with 409 naming the first); the history keeps both",
     "operator", as_run.CorrectionRequest, bodies.AiringView, 200, []),
    ("post", "/v1/confirmations", "Up to 10,000 as-run records at once, each with its own result (confirmed, "
     "already confirmed, refused with field and reason); the operator's scope applies to each item",
     "operator", as_run.BulkConfirmationRequest, as_run.BulkConfirmationResult, 200, []),
    ("post", "/v1/confirmations/as-run-log", "Upload an as-run log as XLSX or CSV in the body (date, time, "
     "commune, language, outcome, reason: the paper layout); each row answered with its number",
     "operator", None, as_run.BulkConfirmationResult, 200, []),
    ("get", "/v1/confirmations/template.xlsx", "A blank as-run log to fill in", "any", None,
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 200, []),
    ("get", "/v1/airings/{airing_id}/history", "Every event of an airing from the event store: type, time, "
     "actor, correlation id and what changed", "any", None, as_run.History, 200, bodies.HistoryQuery),
    ("get", "/v1/series/{series_id}/history", "Every event of a series and the scheduling of its airings",
     "any", None, as_run.History, 200, bodies.HistoryQuery),
    ("get", "/v1/campaigns/{campaign_id}/history", "Every change of a campaign's definition", "any", None,
     as_run.History, 200, bodies.HistoryQuery),
    ("post", "/v1/airings/{airing_id}/live", "A livestream went live (at: when it really did, on its day, "
     "not in the future)", "operator",
     bodies.LivestreamLiveRequest, bodies.AiringView, 200, []),
    ("post", "/v1/airings/{airing_id}/end", "A livestream ended (at: when it really did, for one recorded "
     "after the fact)", "operator", bodies.LivestreamEndRequest, bodies.AiringView, 200, []),
    ("get", "/v1/resources/{resource_id}/calendar.ics",
     "iCalendar feed of a resource (token may be given as ?token= for phone calendars)",
     "any", None, "text/calendar", 200, bodies.ResourceCalendarQuery),
    ("get", "/v1/campaigns/{campaign_id}/calendar.ics", "iCalendar feed of a campaign",
     "any", None, "text/calendar", 200, bodies.CampaignCalendarQuery),
    ("get", "/v1/resources/{resource_id}/run-sheet", "An operator's run-sheet for a local day",
     "any", None, bodies.RunSheet, 200, bodies.RunSheetQuery),
    ("put", "/v1/resources/{resource_id}", "Register a commune's loudspeakers, a programme or a page (201), "
     "or change its description (200); planner of its province", "planner",
     bodies.ResourceRequest, bodies.ResourceView, (201, 200), []),
    ("get", "/v1/resources", "Resources, by province and type, in id order (keyset pages: Link rel=next)",
     "any", None, bodies.ResourceList, 200,
     bodies.ResourcesQuery),
    ("get", "/v1/resources/{resource_id}", "One resource", "any", None, bodies.ResourceView, 200, []),
    ("post", "/v1/campaigns", "Plan a campaign (201; 200 when the campaign id exists: its definition is "
     "replaced); target communes must be communes of its province",
     "planner", bodies.CampaignRequest, bodies.CampaignView, (201, 200), []),
    ("get", "/v1/campaigns", "Campaigns, newest first (keyset pages: Link rel=next)", "any", None,
     bodies.CampaignList, 200,
     bodies.CampaignsQuery),
    ("get", "/v1/campaigns/{campaign_id}", "One campaign", "any", None, bodies.CampaignView, 200, []),
    ("put", "/v1/campaigns/{campaign_id}", "Change a campaign", "planner",
     bodies.CampaignChange, bodies.CampaignView, 200, []),
    ("get", "/v1/campaigns/{campaign_id}/progress",
     "Planned / aired / missed against the targets, per language, kind and commune",
     "any", None, bodies.CampaignProgress, 200, []),
    ("post", "/v1/series", "Plan a recurring airing (RRULE, EXDATE, RDATE in local time); its airings are "
     "kept scheduled over the horizon", "planner", bodies.SeriesRequest, bodies.SeriesView, 201, []),
    ("get", "/v1/series/{series_id}", "One series, how far it is scheduled and what was skipped", "any",
     None, bodies.SeriesView, 200, []),
    ("post", "/v1/series/{series_id}/revision", "Change one occurrence's content (scope=this), this "
     "and following occurrences, or the whole series; occurrences changed by hand keep their own choices "
     "(to move or cancel one occurrence: /v1/airings/{id})", "planner",
     bodies.SeriesRevisionRequest, bodies.SeriesView, 200, []),
    ("post", "/v1/series/{series_id}/end", "End a series: no occurrence from the given one on", "planner",
     bodies.SeriesEndRequest, bodies.SeriesView, 200, []),
    ("post", "/v1/fan-outs", "One bulletin to many communes, each in its languages, in its window "
     "(all or nothing; skip_conflicts lists what was left out; dry_run previews it, 200)", "planner",
     bodies.FanOutRequest, bodies.FanOutResult, 201, []),
    ("post", "/v1/tokens/{jti}/revocation", "Revoke a token by its jti: every service refuses it within "
     "seconds (200: it already was, since the time given)", "planner without a province",
     access.RevocationRequest, access.RevocationView, (201, 200), []),
    ("post", "/v1/grants", "Grant an operator resources of the planner's province: its token (jti = the "
     "grant id), a sign-in link for the web pages, a QR code of it and a short code (shown once)",
     "planner", grants.GrantRequest, grants.GrantHandover, 201, []),
    ("get", "/v1/grants", "The grants of the planner's province (every one for a national planner), "
     "newest first", "planner", None, grants.GrantList, 200, ["province"]),
    ("get", "/v1/grants/{grant_id}", "One grant", "planner", None, grants.GrantView, 200, []),
    ("get", "/v1/grants/{grant_id}/qr.png", "The grant's sign-in address as a QR code (PNG); ?base= names "
     "the web pages' address", "planner", None, "image/png", 200, ["base"]),
    ("post", "/v1/grants/{grant_id}/revocation", "Revoke a grant: its token is refused by every service "
     "within seconds", "planner", access.RevocationRequest, grants.GrantView, 200, []),
    ("post", "/v1/grants/redeem", "Exchange the short code of a grant for the operator's token (no token "
     "needed; 404 for an unknown, revoked or expired code; 429 after 10 wrong codes from one address in 10 "
     "minutes)", "anyone", grants.RedeemRequest,
     grants.Redeemed, 200, []),
    ("get", "/v1/links", "A read-only link token for one calendar feed or /dashboard (never one that writes)",
     "any", None, access.FeedLink, 200, ["feed"]),
]  # fmt: skip


API = ApiDocument(
    title="Loa scheduler",
    description="Plan livestreams, 'Giờ thứ 9' radio segments and commune loudspeaker broadcasts; "
    "operators confirm airings. Errors are RFC 9457 problem+json. Lists are keyset-paginated: "
    'follow the `Link: <…>; rel="next"` header (or pass `next_cursor` as `cursor`) until it is absent; '
    "`total=true` adds the count of every matching item.",
    endpoints=ENDPOINTS,
    problem=bodies.Problem,
    path=DOCUMENT,
    links={
        ("post", "/v1/airings"): {"airing_id": "$response.body#/airing_id"},
        ("put", "/v1/resources/{resource_id}"): {"resource_id": "$response.body#/resource_id"},
        ("post", "/v1/campaigns"): {"campaign_id": "$response.body#/campaign_id"},
        ("post", "/v1/series"): {"series_id": "$response.body#/series_id"},
    },
)
build, rendered, document, page = API.build, API.rendered, API.document, API.page

if __name__ == "__main__":
    API.write(ROOT)
