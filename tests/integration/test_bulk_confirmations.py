"""Bulk as-run logs: many confirmations at once with a result each, idempotent per item, the
operator's scope per item; an uploaded XLSX or CSV log answered row by row (real servers)."""

from __future__ import annotations

import asyncio
from io import BytesIO

from openpyxl import Workbook, load_workbook

from tests.integration.scheduler_api import (
    EA_TU,
    HOA_THANG,
    OPERATOR,
    PLANNER,
    VIEWER,
    bearer,
    client,
    events_seen,
)

__all__ = ["client", "events_seen"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def fan_out(client) -> list[dict]:
    """Bulletins on Aug 7 and 9, 2023: Ea Tu in Kinh then Êđê (17:00, 17:20), Hòa Thắng in Kinh (17:00)."""
    response = await client.post(
        "/v1/fan-outs",
        headers=PLANNER,
        json={
            "title": "Bản tin BHXH",
            "communes": [EA_TU, HOA_THANG],
            "dates": ["2023-08-07", "2023-08-09"],
            "window": 2,
            "duration_minutes": 15,
            "gap_minutes": 5,
        },
    )
    assert response.status == 201, await response.text()
    listed = await client.get(
        "/v1/airings", params={"from": "2023-08-07", "to": "2023-08-10"}, headers=VIEWER
    )
    return (await listed.json())["items"]


async def test_many_confirmations_each_with_its_result_and_none_doubled(client):
    airings = await fan_out(client)
    ea_tu = [a for a in airings if a["resource_id"] == EA_TU]
    hoa_thang = next(a for a in airings if a["resource_id"] == HOA_THANG)
    items = [{"airing_id": a["airing_id"], "outcome": "aired"} for a in ea_tu[:3]] + [
        {"airing_id": ea_tu[3]["airing_id"], "outcome": "missed"},  # no reason
        {"airing_id": hoa_thang["airing_id"], "outcome": "aired"},  # not this operator's commune
        {"airing_id": "00000000-0000-4000-8000-000000000000", "outcome": "aired"},
    ]
    response = await client.post("/v1/confirmations", json={"items": items}, headers=OPERATOR)
    assert response.status == 200, await response.text()
    result = await response.json()
    assert (result["confirmed"], result["already_confirmed"], result["refused"]) == (3, 0, 3)
    statuses = [(r["index"], r["status"], r["field"]) for r in result["items"]]
    assert statuses == [
        (0, "confirmed", None),
        (1, "confirmed", None),
        (2, "confirmed", None),
        (3, "refused", "reason"),
        (4, "refused", "airing_id"),
        (5, "refused", "airing_id"),
    ]
    assert "may not operate loudspeaker:xa-hoa-thang" in result["items"][4]["reason"]

    # The same items again: already confirmed, nothing written twice.
    again = await (await client.post("/v1/confirmations", json={"items": items[:3]}, headers=OPERATOR)).json()
    assert (again["confirmed"], again["already_confirmed"]) == (0, 3)
    history = await (await client.get(f"/v1/airings/{ea_tu[0]['airing_id']}/history", headers=VIEWER)).json()
    assert [e["type"] for e in history["items"]].count("schedule.AiringConfirmed") == 1
    # Another outcome for a confirmed airing is refused, item by item.
    changed = [{"airing_id": ea_tu[0]["airing_id"], "outcome": "missed", "reason": "mất điện"}]
    refused = await (await client.post("/v1/confirmations", json={"items": changed}, headers=OPERATOR)).json()
    assert refused["items"][0]["status"] == "refused" and "correction" in refused["items"][0]["reason"]

    # Viewers may not confirm; more than 10,000 items is a 422 naming the field.
    assert (await client.post("/v1/confirmations", json={"items": items}, headers=VIEWER)).status == 403
    many = {"items": [items[0]] * 10_001}
    too_many = await client.post("/v1/confirmations", json=many, headers=OPERATOR)
    assert too_many.status == 422 and (await too_many.json())["errors"][0]["field"].startswith("items")


async def test_an_as_run_log_in_xlsx_and_csv_answers_row_by_row(client):
    await fan_out(client)
    template = await client.get("/v1/confirmations/template.xlsx", headers=VIEWER)
    assert template.status == 200
    sheet = load_workbook(BytesIO(await template.read())).active
    assert [c.value for c in sheet[1]] == ["Ngày", "Giờ", "Xã", "Ngôn ngữ", "Kết quả", "Lý do"]

    book = Workbook()
    log = book.active
    log.append(["Ngày", "Giờ", "Xã", "Ngôn ngữ", "Kết quả", "Lý do"])
    log.append(["07/08/2023", "17:00", "Xã Ea Tu", "Kinh", "đã phát", None])  # row 2
    log.append(["07/08/2023", "17:20", "24133", "Êđê", "bị lỡ", "mất điện cả buổi chiều"])  # row 3, by code
    log.append(["07/08/2023", "17:00", "Xã Hòa Thắng", "Kinh", "đã phát", None])  # row 4: not this operator's
    log.append(["07/08/2023", "19:00", "Xã Ea Tu", "Kinh", "đã phát", None])  # row 5: nothing then
    log.append(["32/08/2023", "17:00", "Xã Ea Tu", "Kinh", "đã phát", None])  # row 6: no such day
    log.append(["09/08/2023", "17:00", "Xã Ea Tu", "Kinh", "phát tốt", None])  # row 7: unknown outcome
    log.append([None] * 6)  # a blank line is skipped
    log.append(["09/08/2023", "17:20", "Xã Ea Tu", "Êđê", "phát một phần", "mưa to"])  # row 9
    raw = BytesIO()
    book.save(raw)
    response = await client.post(
        "/v1/confirmations/as-run-log", data=raw.getvalue(), headers=OPERATOR | {"Content-Type": XLSX}
    )
    assert response.status == 200, await response.text()
    result = await response.json()
    rows = [(r["row"], r["status"], r["field"]) for r in result["items"]]
    assert rows == [
        (2, "confirmed", None),
        (3, "confirmed", None),
        (4, "refused", "airing_id"),
        (5, "refused", "time"),
        (6, "refused", "date"),
        (7, "refused", "outcome"),
        (9, "confirmed", None),
    ]

    # The same log as CSV (as a spreadsheet saves it): already confirmed, row by row.
    csv = (
        "Ngày,Giờ,Xã,Ngôn ngữ,Kết quả,Lý do\r\n07/08/2023,17:00,Xã Ea Tu,Kinh,đã phát,\r\n"
        "2023-08-07,17:20,loudspeaker:xa-ea-tu,Êđê,bị lỡ,mất điện cả buổi chiều\r\n"
    )
    response = await client.post(
        "/v1/confirmations/as-run-log",
        data=("\ufeff" + csv).encode(),
        headers=OPERATOR | {"Content-Type": "text/csv"},
    )
    again = await response.json()
    assert [(r["row"], r["status"]) for r in again["items"]] == [
        (2, "already confirmed"),
        (3, "already confirmed"),
    ]
    # The bulk answer comes from the decided events; the read model applies them a moment later.
    async with asyncio.timeout(15):
        while True:
            listed = await client.get(
                "/v1/airings", params={"resource_id": EA_TU, "from": "2023-08-07", "to": "2023-08-08"},
                headers=VIEWER,
            )  # fmt: skip
            statuses = [a["status"] for a in (await listed.json())["items"]]
            if "scheduled" not in statuses:
                break
            await asyncio.sleep(0.05)
    assert statuses == ["aired", "missed"]
    bad = await client.post(
        "/v1/confirmations/as-run-log",
        data=b"PK\x03\x04 not a workbook",
        headers=OPERATOR | {"Content-Type": XLSX},
    )
    assert bad.status == 422 and (await bad.json())["errors"][0]["field"] == "body"
    stranger = bearer("viewer", sub="Người xem")
    assert (
        await client.post("/v1/confirmations/as-run-log", data=csv.encode(), headers=stranger)
    ).status == 403
