"""What a client may send: the HTTP contracts refuse nonsense naming the field; problems tell the truth."""

import json

import pytest
from aiohttp import web
from pydantic import ValidationError

from contracts.http.metrics import SampleBatch, SampleIn, StatsQuery
from contracts.http.scheduler import (
    AiringRequest,
    AiringsQuery,
    CampaignRequest,
    ResourceRequest,
    RunSheetQuery,
    SeriesRequest,
)
from services.common.web import Problem

AIRING = {"kind": "loudspeaker", "resource_id": "loudspeaker:xa-ea-tu", "starts_at": "2026-12-05T06:00",
          "duration_minutes": 15, "title": "Thông báo BHXH tự nguyện", "language": "Êđê"}  # fmt: skip
CAMPAIGN = {"name": "BHYT học sinh, sinh viên", "province": "dak-lak", "starts_on": "2023-08-01",
            "ends_on": "2023-08-31"}  # fmt: skip


def refusal(model, data: dict) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as refused:
        model.model_validate_json(json.dumps(data))
    return [(".".join(map(str, e["loc"])), e["msg"]) for e in refused.value.errors()]


def test_a_plain_airing_in_vietnamese_passes_and_is_trimmed():
    airing = AiringRequest.model_validate_json(json.dumps(AIRING | {"title": "  Thông báo BHXH  "}))
    assert airing.title == "Thông báo BHXH" and airing.language == "Êđê"


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"title": "Thông\u0000báo"}, "title", "control characters"),
        ({"title": "   "}, "title", "empty"),
        ({"language": ""}, "language", "at least 1"),
        ({"starts_at": "9999-12-31T23:50"}, "starts_at", "2000-01-01 … 2100-12-31"),
        ({"starts_at": "0001-01-01T00:00+07:00"}, "starts_at", "2000-01-01 … 2100-12-31"),
        ({"starts_at": 1796083200}, "starts_at", "not read as Unix time"),
        ({"duration_minutes": "15"}, "duration_minutes", "not a string"),
        ({"duration_minutes": None, "ends_at": "3026-12-05T06:00"}, "ends_at", "2000-01-01"),
        ({"duration_minutes": None, "ends_at": "2026-12-06T06:01"}, "ends_at", "at most 24 hours"),
        ({"duration_minutes": None, "ends_at": "2026-12-05T05:00"}, "ends_at", "after starts_at"),
        ({"resource_id": "x" * 121}, "resource_id", "at most 120"),
    ],
)
def test_nonsense_in_an_airing_is_refused_naming_the_field(change, field, reason):
    body = {k: v for k, v in (AIRING | change).items() if v is not None}
    errors = refusal(AiringRequest, body)
    assert any(f == field and reason in msg for f, msg in errors), errors


def test_campaign_targets_are_json_safe_integers_and_days_in_range():
    assert refusal(CampaignRequest, CAMPAIGN | {"targets": {"airings": 2**64}})[0][0] == "targets.airings"
    assert refusal(CampaignRequest, CAMPAIGN | {"targets": {"airings": -1}})[0][0] == "targets.airings"
    assert refusal(CampaignRequest, CAMPAIGN | {"starts_on": "0001-01-01"})[0][0] == "starts_on"
    assert CampaignRequest.model_validate_json(json.dumps(CAMPAIGN | {"targets": {"airings": 2**53 - 1}}))


def test_a_commune_speaks_named_languages():
    commune = {"type": "commune", "name": "Xã Ea Tu", "province": "dak-lak", "languages": ["Kinh", ""]}
    assert refusal(ResourceRequest, commune)[0][0] == "languages.1"


def test_series_dates_may_carry_an_offset_but_stay_in_range():
    series = {"resource_id": "radio:dak-lak:gio-thu-9", "kind": "radio", "rule": "FREQ=DAILY",
              "first_start": "2026-12-01T21:00", "duration_minutes": 15, "title": "Giờ thứ 9"}  # fmt: skip
    given = SeriesRequest.model_validate_json(json.dumps(series | {"exdates": ["2026-12-02T21:00+07:00"]}))
    assert given.exdates[0].utcoffset() is not None
    assert refusal(SeriesRequest, series | {"rdates": ["1900-01-01T06:00"]})[0][0] == "rdates.0"


def test_query_parameters_are_parsed_from_text_and_checked():
    query = AiringsQuery.model_validate_strings({"from": "2023-08-01", "limit": "5", "sort": "-starts_at"})
    assert query.from_.isoformat() == "2023-08-01T00:00:00" and query.limit == 5
    for model, data, field in (
        (AiringsQuery, {"from": "0001-01-01"}, "from"),
        (AiringsQuery, {"limit": "1e3"}, "limit"),
        (AiringsQuery, {"status": "whatever"}, "status"),
        (RunSheetQuery, {"date": "0001-01-01"}, "date"),
        (StatsQuery, {"as_of": "yesterday"}, "as_of"),
    ):
        with pytest.raises(ValidationError) as refused:
            model.model_validate_strings(data)
        assert refused.value.errors()[0]["loc"] == (field,)


def test_each_sample_is_checked_on_its_own():
    batch = SampleBatch.model_validate_json('{"items": ["a string", 42, null, {"airing_id": "x"}]}')
    assert len(batch.items) == 4  # refused one by one later, each with its index and reason
    sample = {"airing_id": "0d3c6a52-7a0e-4a55-a1f3-2f8f8e6b9c11", "sampled_at": "2023-08-25T20:00",
              "counters": {"views": 1700}}  # fmt: skip
    assert SampleIn.model_validate(sample).counters == {"views": 1700}  # a dict from AMQP, too
    with pytest.raises(ValidationError, match="not read as Unix time"):
        SampleIn.model_validate(sample | {"sampled_at": 1692968400})
    with pytest.raises(ValidationError, match="not a string"):
        SampleIn.model_validate(sample | {"counters": {"views": "1700"}})


def test_a_405_says_which_methods_the_path_answers():
    problem = Problem.from_http(web.HTTPMethodNotAllowed("PATCH", ["GET", "PUT"]))
    response = problem.response("/v1/resources/x")
    assert response.status == 405 and response.headers["Allow"] == "GET,PUT"
    body = json.loads(response.body)
    assert body["detail"] and body["instance"] == "/v1/resources/x"


def test_a_refusal_naming_fields_says_so_in_detail_too():
    body = json.loads(
        Problem(422, "Invalid request", errors=[{"field": "title", "reason": "empty"}]).response("/").body
    )
    assert body["detail"] == "title: empty" and body["errors"] == [{"field": "title", "reason": "empty"}]
