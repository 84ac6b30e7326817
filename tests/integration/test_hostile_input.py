"""A hostile or careless client against the scheduler running as its own process.

Every runaway rule and every piece of nonsense from issue 11 is refused with 422
problem+json naming the field, each in well under a second (the rule itself is
refused in < 100 ms: tests/unit/scheduler/test_recurrence.py), and the process
stays small and answering throughout: its RSS, read from /proc, stays < 300 MB.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from tests.integration.service_process import PLANNER, SECRET, Service

PROGRAMME = "radio:dak-lak:gio-thu-9"
COMMUNE = "loudspeaker:xa-ea-tu"
BUDGET = 0.5  # seconds per request, HTTP and a shared CI machine included; a runaway took minutes
RSS_LIMIT_MB = 300
SERIES = {"resource_id": PROGRAMME, "kind": "radio", "first_start": "2026-12-01T21:00",
          "duration_minutes": 15, "title": "Câu chuyện chính sách"}  # fmt: skip
AIRING = {"kind": "loudspeaker", "resource_id": COMMUNE, "starts_at": "2026-12-05T06:00",
          "duration_minutes": 15, "title": "Thông báo BHXH tự nguyện", "language": "Kinh"}  # fmt: skip
FAN_OUT = {"title": "Bản tin BHYT", "communes": [COMMUNE], "from_date": "2026-12-01", "to_date": "2026-12-31",
           "duration_minutes": 15}  # fmt: skip
RULES = [
    "FREQ=DAILY;INTERVAL=0",
    "FREQ=DAILY;COUNT=-1",
    "FREQ=DAILY;COUNT=3;UNTIL=20261231",
    "FREQ=SECONDLY",
    "FREQ=MINUTELY;COUNT=10",
    "FREQ=HOURLY",
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=31",
    "FREQ=DAILY;BYSETPOS=2",
]


def call(service: Service, method: str, path: str, body=None, raw: bytes | None = None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(
        f"{service.url}{path}", data=data, method=method,
        headers={"Authorization": f"Bearer {PLANNER}", "Content-Type": "application/json"},
    )  # fmt: skip
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, content_type, payload = response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as exc:
        status, content_type, payload = exc.code, exc.headers["Content-Type"], exc.read()
    return status, content_type, payload, time.perf_counter() - started


def refused(service: Service, method: str, path: str, body=None, *, field: str, raw: bytes | None = None):
    status, content_type, payload, elapsed = call(service, method, path, body, raw)
    assert status == 422, (path, body, status, payload[:500])
    assert content_type.startswith("application/problem+json")
    problem = json.loads(payload)
    assert problem["detail"] and problem["instance"] == path.split("?")[0]
    fields = [e["field"] for e in problem["errors"]]
    assert any(f == field or f.startswith(f"{field}.") for f in fields), f"{field}: {problem}"
    assert elapsed < BUDGET, f"{method} {path} {body} refused after {elapsed:.2f} s"
    return problem


@pytest.fixture(scope="module")
def scheduler(pg_dsn, amqp_url, tmp_path_factory):
    env = {"LOA_PG_DSN": pg_dsn, "LOA_AMQP_URL": amqp_url, "LOA_TOKEN_SECRET": SECRET}
    service = Service("scheduler", env, tmp_path_factory.mktemp("hostile"))
    try:
        programme = {"type": "programme", "name": "Giờ thứ 9", "province": "dak-lak",
                     "station": "Đài PT-TH Đắk Lắk"}  # fmt: skip
        commune = {"type": "commune", "name": "Xã Ea Tu", "province": "dak-lak", "languages": ["Kinh", "Êđê"],
                   "windows": [{"start": "17:00", "end": "18:30"}]}  # fmt: skip
        assert call(service, "PUT", f"/v1/resources/{PROGRAMME}", programme)[0] in (200, 201)
        assert call(service, "PUT", f"/v1/resources/{COMMUNE}", commune)[0] in (200, 201)
        yield service
    finally:
        service.stop()


def test_runaway_rules_are_refused_at_once_by_series_and_fan_outs(scheduler):
    for rule in RULES:
        refused(scheduler, "POST", "/v1/series", SERIES | {"rule": rule}, field="rule")
        refused(scheduler, "POST", "/v1/fan-outs", FAN_OUT | {"rule": rule}, field="rule")
    year_one = SERIES | {"rule": "FREQ=DAILY", "first_start": "0001-01-01T06:00"}
    refused(scheduler, "POST", "/v1/series", year_one, field="first_start")
    # Three a day from 2000 up to the horizon is more airings than one request may plan.
    since_2000 = SERIES | {"rule": "FREQ=DAILY;BYHOUR=6,12,18", "first_start": "2000-01-01T06:00"}
    refused(scheduler, "POST", "/v1/series", since_2000, field="rule")
    assert scheduler.healthy()


def test_nonsense_in_bodies_is_refused_naming_the_field(scheduler):
    cases = [
        ({"title": "a\u0000b"}, "title"),
        ({"title": "   "}, "title"),
        ({"language": ""}, "language"),
        ({"starts_at": "9999-12-31T23:50"}, "starts_at"),
        ({"starts_at": "0001-01-01T00:00"}, "starts_at"),
        ({"starts_at": "0001-01-01T00:00+07:00"}, "starts_at"),
        ({"starts_at": 1796083200}, "starts_at"),  # a number is not read as Unix time
        ({"duration_minutes": "15"}, "duration_minutes"),
        ({"duration_minutes": None, "ends_at": "3026-12-05T06:00"}, "ends_at"),  # a 1,000-year airing
        ({"duration_minutes": None, "ends_at": "2026-12-06T06:15"}, "ends_at"),  # 24 h 15 min
        ({"resource_id": "x" * 121}, "resource_id"),
    ]
    for change, field in cases:
        body = {k: v for k, v in (AIRING | change).items() if v is not None}
        refused(scheduler, "POST", "/v1/airings", body, field=field)
    commune = {"type": "commune", "name": "Xã Ea Tu", "province": "dak-lak", "languages": [""]}
    refused(scheduler, "PUT", f"/v1/resources/{COMMUNE}", commune, field="languages")
    refused(scheduler, "PUT", "/v1/resources/" + "x" * 121, commune | {"languages": ["Kinh"]},
            field="resource_id")  # fmt: skip
    campaign = {"name": "Luật BHXH năm 2024", "province": "dak-lak", "starts_on": "2026-12-01",
                "ends_on": "2026-12-31", "targets": {"airings": 2**64}}  # fmt: skip
    refused(scheduler, "POST", "/v1/campaigns", campaign, field="targets")
    refused(scheduler, "POST", "/v1/campaigns", campaign | {"targets": {}, "name": " \t"}, field="name")
    refused(scheduler, "POST", "/v1/campaigns", campaign | {"targets": {}, "starts_on": "0001-01-01"},
            field="starts_on")  # fmt: skip
    assert scheduler.healthy()


def test_out_of_range_query_parameters_are_refused_naming_the_parameter(scheduler):
    for path, field in (
        (f"/v1/resources/{COMMUNE}/run-sheet?date=0001-01-01", "date"),
        ("/v1/airings?from=0001-01-01", "from"),
        ("/v1/airings?to=9999-12-31T23:59-05:00", "to"),
        ("/v1/airings?limit=1e3", "limit"),
        (f"/v1/resources/{COMMUNE}/calendar.ics?from=0001-01-01", "from"),
    ):
        refused(scheduler, "GET", path, field=field)


def test_confirmations_stay_within_the_airings_day(scheduler):
    status, _, payload, _ = call(scheduler, "POST", "/v1/airings", AIRING | {"starts_at": "2025-12-05T06:00"})
    assert status == 201, payload
    airing = json.loads(payload)["airing_id"]
    path = f"/v1/airings/{airing}/confirmation"
    refused(
        scheduler,
        "POST",
        path,
        {"outcome": "aired", "actual_start": "2030-01-01T06:00"},
        field="actual_start",
    )
    refused(
        scheduler, "POST", path, {"outcome": "aired", "actual_end": "2025-12-09T06:00"}, field="actual_end"
    )
    status, _, payload, _ = call(
        scheduler, "POST", path, {"outcome": "aired", "actual_start": "2025-12-05T06:02"}
    )
    assert status == 200, payload


def test_the_scheduler_stays_small_and_answering_through_the_hostile_suite(scheduler):
    # Last in this module: the refusals above ran in this process.
    assert scheduler.healthy()
    rss = scheduler.rss_mb()
    print(f"scheduler RSS after the hostile suite: {rss:.0f} MB")
    assert rss < RSS_LIMIT_MB
