"""The planner's desk and the operator's phone page in headless Chromium (Debian's chromium and
chromedriver), over a real scheduler, metrics service and web service.

- a planner signs in, creates a campaign and a fan-out through the forms, sees the preview name a
  conflict, commits skipping it and finds the airings in the calendar;
- an operator on a 390×844 phone confirms an airing with the network off (DevTools), sees it waiting,
  goes online, and the API records exactly one confirmation; the page stays under 150 KB on first
  load and 10 KB on a reload from the cache;
- the report page shows the API's figures;
- every page is photographed at 390×844 and 1366×768 into test-artifacts/ and checked with axe-core
  (from the npm registry, injected from a local copy) for critical violations.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tarfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from contracts.localtime import VIETNAM
from services.web.i18n import Formats
from tests.integration.scheduler_api import EA_TU, OPERATOR, PLANNER, VIEWER, client, events_seen
from tests.integration.test_metrics import COLLECTOR, FINAL, at, known_to_metrics, livestream, metrics, until
from tests.integration.test_web_pages import token_of, web

__all__ = ["client", "events_seen", "metrics", "web"]  # fixtures
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
AXE = ROOT / ".loa" / "test" / "axe-core" / "package" / "axe.min.js"
PHONE, DESKTOP = (390, 844), (1366, 768)

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER), reason="needs Debian's chromium and chromium-driver (.ci/run installs them)"
)


class Browser:
    """A headless Chromium driven from async tests: every WebDriver call runs in a thread, because the
    servers it talks to run on this test's event loop."""

    def __init__(self, base: str) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1366,900"):
            options.add_argument(argument)
        self.driver = webdriver.Chrome(service=Service(DRIVER), options=options)
        self.base = base.rstrip("/")

    async def do(self, function, *args):
        return await asyncio.to_thread(function, *args)

    async def get(self, path: str) -> None:
        await self.do(self.driver.get, self.base + path)

    async def js(self, script: str, *args):
        return await self.do(self.driver.execute_script, script, *args)

    async def cdp(self, command: str, params: dict):
        return await self.do(self.driver.execute_cdp_cmd, command, params)

    async def viewport(self, size: tuple[int, int]) -> None:
        width, height = size
        await self.cdp(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500},
        )

    async def offline(self, off: bool) -> None:
        await self.cdp("Network.enable", {})
        await self.cdp(
            "Network.emulateNetworkConditions",
            {"offline": off, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )

    async def text(self, selector: str) -> str:
        return await self.js(
            "const e = document.querySelector(arguments[0]); return e ? e.innerText : null;", selector
        )

    async def wait_for(self, script: str, *args, timeout: float = 20):
        async with asyncio.timeout(timeout):
            while not (result := await self.js(script, *args)):  # noqa: ASYNC110 — polling the page
                await asyncio.sleep(0.1)
        return result

    async def wait_path(self, prefix: str) -> None:
        await self.wait_for(
            "return location.pathname.startsWith(arguments[0]) && document.readyState == 'complete'", prefix
        )

    async def click(self, selector: str) -> None:
        await self.js("document.querySelector(arguments[0]).click();", selector)

    async def fill(self, values: dict[str, str]) -> None:
        """Set form fields by id (date inputs are locale-dependent to type into)."""
        await self.js(
            "for (const [id, v] of Object.entries(arguments[0])) {"
            " const e = document.getElementById(id); e.value = v;"
            " e.dispatchEvent(new Event('change', {bubbles: true})); }",
            values,
        )

    async def screenshot(self, name: str, size: tuple[int, int], show: str | None = None) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        await self.viewport(size)
        if show:
            await self.js("document.querySelector(arguments[0]).scrollIntoView()", show)
        await asyncio.sleep(0.2)
        path = ARTIFACTS / f"web-{name}-{size[0]}x{size[1]}.png"
        await self.do(self.driver.save_screenshot, str(path))
        return path

    async def sign_in(self, headers: dict) -> None:
        await self.get(f"/signin?token={token_of(headers)}")
        await self.wait_for("return !location.pathname.startsWith('/signin')")
        assert "token=" not in await self.js("return location.href")

    async def quit(self) -> None:
        await self.do(self.driver.quit)


@pytest.fixture
async def browser(web):
    browser = await asyncio.to_thread(Browser, str(web.make_url("/")))
    yield browser
    await browser.quit()


def local(minutes_from_now: int) -> str:
    return (datetime.now(VIETNAM) + timedelta(minutes=minutes_from_now)).strftime("%Y-%m-%dT%H:%M")


async def test_a_planner_fans_a_bulletin_out_through_the_forms(browser, client):
    blocker = await client.post(
        "/v1/airings",
        headers=PLANNER,
        json={
            "kind": "loudspeaker",
            "resource_id": EA_TU,
            "starts_at": "2027-01-08T17:00",
            "duration_minutes": 10,
            "title": "Thông báo của xã",
        },
    )
    assert blocker.status == 201
    await browser.sign_in(PLANNER)
    await browser.wait_path("/desk")
    await browser.fill(
        {"c-name": "BHYT học sinh, sinh viên", "c-from": "2027-01-01", "c-to": "2027-01-31", "c-per": "5"}
    )
    await browser.js("document.querySelectorAll('input[name=communes]').forEach(c => c.checked = true)")
    await browser.js("document.getElementById('campaign-form').submit()")
    await browser.wait_path("/desk/campaigns/")
    campaign_id = (await browser.js("return location.pathname")).rsplit("/", 1)[1]
    assert "BHYT học sinh, sinh viên" in await browser.text("h1")

    await browser.get(f"/desk/fan-out?campaign_id={campaign_id}")
    await browser.fill(
        {
            "fo-title": "Bản tin BHYT học sinh, sinh viên",
            "fo-from": "2027-01-01",
            "fo-to": "2027-01-31",
            "fo-window": "2",
        }
    )
    await browser.wait_for("return window.htmx !== undefined")
    await browser.click("#fo-preview")
    await browser.wait_for("return document.getElementById('preview-result')")
    # 5 Fridays x (Ea Tu in Kinh and Êđê + Hòa Thắng in Kinh) = 15, one of them in the way.
    assert await browser.text("#preview-planned") == "14"
    conflicts = await browser.text(".conflicts")
    assert "Xã Ea Tu" in conflicts and "Thông báo của xã" in conflicts and "17:00" in conflicts
    assert "thứ Sáu hằng tuần" in await browser.text("#preview-result")
    await browser.click("input[name=weekday][value=TU]")  # the builder says what it makes
    await browser.js(
        "document.querySelector('input[name=weekday][value=TU]')"
        ".dispatchEvent(new Event('change', {bubbles: true}))"
    )
    await browser.wait_for("return document.getElementById('fo-said').innerText.match(/thứ Ba, thứ Sáu/)")
    await browser.click("input[name=weekday][value=TU]")
    await browser.screenshot("fan-out-preview", DESKTOP, show="#preview-result")
    await browser.viewport(DESKTOP)

    started = asyncio.get_running_loop().time()
    await browser.click("#commit-skip")
    await browser.wait_for("return document.getElementById('fanout-done')")
    assert await browser.text("#done-planned") == "14"
    await browser.click("#to-calendar")
    await browser.wait_path("/desk/calendar")
    events = await browser.wait_for(
        "const n = document.querySelectorAll('.cal .ev').length; return n || null"
    )
    form_to_calendar = asyncio.get_running_loop().time() - started
    assert events == 14
    assert await browser.js("return document.querySelectorAll('.cal .ev.status-scheduled').length") == 14
    await browser.click(".cal .ev")
    await browser.wait_for("return document.querySelector('#details h2')")
    assert "Bản tin BHYT" in await browser.text("#details h2")
    for size in (DESKTOP, PHONE):
        await browser.screenshot("calendar", size)
    assert form_to_calendar < 3


async def test_an_operator_confirms_offline_and_the_api_records_it_once(browser, client, events_seen):
    planned = await client.post(
        "/v1/airings",
        headers=PLANNER,
        json={
            "kind": "loudspeaker",
            "resource_id": EA_TU,
            "starts_at": local(-20),
            "duration_minutes": 15,
            "title": "Bản tin BHXH tự nguyện",
            "language": "Êđê",
            "script": "Bản tin tiếng Êđê …",
        },
    )
    airing_id = (await planned.json())["airing_id"]
    await browser.viewport(PHONE)
    await browser.sign_in(OPERATOR)
    await browser.wait_path("/op/")
    card = f"#a-{airing_id}"
    assert "Êđê" in await browser.text(card)
    first_load = await browser.js(
        "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
        ".reduce((n, e) => n + e.transferSize, 0)"
    )
    await browser.wait_for(
        "return navigator.serviceWorker.controller || navigator.serviceWorker.ready.then(() => true)"
    )
    assert await browser.js("return document.documentElement.scrollWidth <= window.innerWidth")

    await browser.offline(True)
    await browser.click(f"{card} button[data-outcome=aired]")
    await browser.wait_for("return !document.getElementById('pending').hidden")
    assert await browser.text("#pending-count") == "1"
    assert "chờ gửi" in await browser.text(card)
    await asyncio.sleep(1)
    assert (await (await client.get(f"/v1/airings/{airing_id}", headers=PLANNER)).json())[
        "status"
    ] == "scheduled"
    await browser.screenshot("operator-offline", PHONE)

    await browser.offline(False)
    await browser.wait_for("return document.getElementById('pending').hidden", timeout=30)
    assert "status-aired" in await browser.js("return document.querySelector(arguments[0]).className", card)
    assert (await (await client.get(f"/v1/airings/{airing_id}", headers=PLANNER)).json())["status"] == "aired"

    # A reload from the cache: the page again, assets from the service worker.
    await browser.get("/op/")
    await browser.wait_path("/op/")
    reload_bytes = await browser.js(
        "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
        ".reduce((n, e) => n + e.transferSize, 0)"
    )
    assert await browser.js("return JSON.parse(localStorage.getItem('loa-op-queue') || '[]').length") == 0

    def confirmations():
        return [
            m
            for m in events_seen
            if m.routing_key == "schedule.AiringConfirmed" and airing_id.encode() in m.body
        ]

    await until(lambda: asyncio.sleep(0, result=len(confirmations()) >= 1))
    await asyncio.sleep(1)
    assert len(confirmations()) == 1
    # No connection at all: the page opens from the service worker's copy, showing what was recorded.
    await browser.offline(True)
    await browser.get("/op/")
    await browser.wait_for("return document.querySelector(arguments[0])", card)
    assert "Đã phát" in await browser.text(card)
    await browser.offline(False)
    assert first_load < 150_000, first_load
    assert reload_bytes < 10_000, reload_bytes
    print(f"operator page: first load {first_load} B, reload {reload_bytes} B")


async def test_the_report_page_shows_the_apis_figures(browser, client, metrics):
    airing_id = await livestream(client)
    await known_to_metrics(metrics, airing_id)
    posted = await metrics.post(
        "/v1/samples",
        headers=COLLECTOR,
        json={
            "items": [{"airing_id": airing_id, "sampled_at": at(60), "source": "facebook", "counters": FINAL}]
        },
    )
    assert posted.status == 200

    async def report():
        response = await metrics.get(
            "/v1/reports", params={"period": "2023-08", "province": "dak-lak"}, headers=VIEWER
        )
        body = await response.json()
        return body if any(1700 in line["values"].values() for line in body["platforms"]) else None

    expected = await until(report)
    await browser.sign_in(VIEWER)
    await browser.get("/desk/reports?month=2023-08&province=dak-lak")
    await browser.wait_for("return document.getElementById('totals')")
    vi = Formats("vi")
    for key, value in expected["totals"].items():
        shown = await browser.text(f'#totals td[data-key="{key}"]')
        assert shown == vi.number(value), (key, shown, value)
    assert "1.700" in await browser.text("#pages")
    for size in (DESKTOP, PHONE):
        await browser.screenshot("reports", size)


def axe_source() -> str | None:
    """axe-core from the npm registry, kept under .loa/test (fetched once with ``npm pack``)."""
    if not AXE.exists():
        npm = shutil.which("npm")
        if not npm:
            return None
        folder = AXE.parents[1]
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [npm, "pack", "axe-core@4", "--silent"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            return None
        with tarfile.open(folder / done.stdout.strip().splitlines()[-1]) as archive:
            archive.extract("package/axe.min.js", folder, filter="data")
    return AXE.read_text()


PAGES = [
    ("desk", "/desk"),
    ("calendar", f"/desk/calendar?resource_id={EA_TU}&view=week"),
    ("plan", "/desk/plan"),
    ("fan-out", "/desk/fan-out"),
    ("emergency", "/desk/emergency"),
    ("resources", "/desk/resources"),
    ("resource", f"/desk/resources/{EA_TU}"),
    ("reports", "/desk/reports?month=2023-08"),
    ("dashboard-picker", "/desk/dashboard"),
    ("signin", "/signin"),
]


async def test_every_page_photographed_and_without_critical_accessibility_violations(browser, client):
    source = await asyncio.to_thread(axe_source)
    await client.post(
        "/v1/airings",
        headers=PLANNER,
        json={
            "kind": "loudspeaker",
            "resource_id": EA_TU,
            "starts_at": local(30),
            "duration_minutes": 15,
            "title": "Bản tin BHXH",
            "language": "Kinh",
            "script": "Nội dung bản tin",
        },
    )
    found: dict[str, list] = {}

    async def check(name: str) -> None:
        for size in (PHONE, DESKTOP):
            await browser.screenshot(name, size)
        if source:
            await browser.js(source)
            found[name] = await browser.do(
                browser.driver.execute_async_script,
                """
                const done = arguments[arguments.length - 1];
                axe.run(document, {resultTypes: ["violations"]})
                   .then(r => done(r.violations.map(v => [v.id, v.impact, v.nodes.length])));""",
            )

    await browser.sign_in(OPERATOR)
    await browser.wait_path("/op/")
    await check("operator")
    await browser.get("/signin")  # a fresh sign-in replaces the operator's session
    await browser.sign_in(PLANNER)
    for name, path in PAGES:
        await browser.get(path)
        await browser.wait_for("return document.readyState == 'complete'")
        await check(name)
    critical = {name: [v for v in violations if v[1] == "critical"] for name, violations in found.items()}
    assert not any(critical.values()), critical
    if not source:
        pytest.skip(
            "screenshots taken; axe-core could not be fetched from the npm registry (no npm or offline)"
        )
    print({name: violations for name, violations in found.items() if violations})


async def test_a_confirmation_the_api_refuses_is_shown_with_its_reason_and_the_buttons_come_back(
    browser, client
):
    planned = await client.post(
        "/v1/airings",
        headers=PLANNER,
        json={
            "kind": "loudspeaker",
            "resource_id": EA_TU,
            "starts_at": local(60),
            "duration_minutes": 15,
            "title": "Bản tin chưa đến giờ",
            "language": "Kinh",
        },
    )
    airing_id = (await planned.json())["airing_id"]
    await browser.viewport(PHONE)
    await browser.sign_in(OPERATOR)
    await browser.wait_path("/op/")
    card = f"#a-{airing_id}"
    await browser.click(f"{card} button[data-outcome=aired]")  # it has not begun: the API says no (422)
    await browser.wait_for("return !document.getElementById('refused').hidden")
    assert "Bản tin chưa đến giờ" in await browser.text("#refused")
    assert await browser.js("return document.querySelector(arguments[0] + ' .actions').hidden", card) is False
    assert await browser.text("#pending-count") == "0"
    airing = await (await client.get(f"/v1/airings/{airing_id}", headers=PLANNER)).json()
    assert airing["status"] == "scheduled"
