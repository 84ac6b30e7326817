"""The bench's deadlines and failed figures (bench/harness.py): no servers."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from bench.harness import FigureFailed, Result, deadline, not_measured, table, within


async def test_a_wait_past_its_deadline_fails_with_what_it_awaited():
    started = time.monotonic()
    with pytest.raises(FigureFailed, match=r"^50,000 samples counted: not within 0.05 s$"):
        await within(0.05, "50,000 samples counted", asyncio.Event().wait())
    assert time.monotonic() - started < 1


async def test_a_wait_within_its_deadline_answers_its_value():
    async def figure() -> float:
        await asyncio.sleep(0)
        return 1.5

    assert await within(5, "a figure", figure()) == 1.5
    async with deadline(5, "a block"):
        await asyncio.sleep(0)


async def test_a_timeout_inside_the_block_that_is_not_the_deadline_is_not_renamed():
    # only the deadline's own expiry becomes FigureFailed; a shorter inner timeout stays what it is
    with pytest.raises(TimeoutError):
        async with deadline(5, "outer"):
            await asyncio.wait_for(asyncio.Event().wait(), 0.01)


def test_a_failed_figure_is_named_in_the_table_and_written_as_null():
    rows = [
        Result("replay", "events/s", 200.0, raw=400.0),
        not_measured("metrics (suite)", "x: not within 1 s"),
    ]
    printed = table(rows)
    assert "metrics (suite)" in printed and "FAILED: x: not within 1 s" in printed
    records = json.loads(json.dumps([r.record() for r in rows]))  # valid JSON: no NaN
    assert records[0]["loa_over_raw"] == 0.5 and "failed" not in records[0]
    assert records[1]["loa"] is None and records[1]["failed"] == "x: not within 1 s"
