"""The dashboard in headless Chromium (Debian's chromium + chromedriver): it loads against the
running services, a posted sample changes a number on it without a reload, and a screenshot is
kept in test-artifacts/dashboard.png.
"""

import asyncio
import shutil
from pathlib import Path

import pytest

from tests.integration.scheduler_api import VIEWER, client, events_seen
from tests.integration.test_metrics import COLLECTOR, at, known_to_metrics, livestream, metrics

__all__ = ["client", "events_seen", "metrics"]  # fixtures
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")


def open_browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=412,1400"):
        options.add_argument(argument)  # a phone's width
    return webdriver.Chrome(service=Service(DRIVER), options=options)


@pytest.mark.skipif(
    not (CHROMIUM and DRIVER), reason="needs Debian's chromium and chromium-driver (.ci/run installs them)"
)
async def test_the_dashboard_shows_a_new_sample_live(client, metrics):
    airing_id = await livestream(client)
    await known_to_metrics(metrics, airing_id)
    await metrics.post("/v1/samples", json={"items": [
        {"airing_id": airing_id, "sampled_at": at(10), "counters": {"views": 900, "comments": 50}}]},
        headers=COLLECTOR)  # fmt: skip
    token = VIEWER["Authorization"].removeprefix("Bearer ")
    url = str(metrics.make_url(f"/dashboard?token={token}&month=2023-08&airing_id={airing_id}"))
    browser = await asyncio.to_thread(open_browser)
    try:
        await asyncio.to_thread(browser.get, url)

        async def text(element_id):
            return await asyncio.to_thread(lambda: browser.find_element("id", element_id).text)

        async def shows(element_id, wanted):
            async with asyncio.timeout(20):
                while await text(element_id) != wanted:  # noqa: ASYNC110 — polling the page's DOM
                    await asyncio.sleep(0.1)

        await shows("status", "trực tiếp")
        await shows("views", "900")
        assert "Bảng điều khiển" in await asyncio.to_thread(lambda: browser.title)
        await metrics.post("/v1/samples", json={"items": [
            {"airing_id": airing_id, "sampled_at": at(60), "counters": {"views": 1700, "comments": 105}}]},
            headers=COLLECTOR)  # fmt: skip
        await shows("views", "1.700")  # no reload: the SSE message brought it
        await shows("comments", "105")
        ARTIFACTS.mkdir(exist_ok=True)
        await asyncio.to_thread(browser.save_screenshot, str(ARTIFACTS / "dashboard.png"))
    finally:
        await asyncio.to_thread(browser.quit)
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000
