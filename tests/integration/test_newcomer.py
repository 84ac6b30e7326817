"""What a newcomer does in the first five minutes, end to end.

The product is brought up as ``./loa up`` does it (services as processes, the
demo loaded through the API, the collector simulator started), on the test
servers but in its own database and RabbitMQ virtual host. Then: August 2023's
report shows the seed's figures, a second load adds nothing, the dashboard in
headless Chromium shows live numbers that move, and the walkthroughs' curl
examples run as written.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from services.common.auth import issue
from services.common.settings import Settings
from services.demo.loader import Tokens
from services.devstack.servers import free_port
from tests.vhosts import fresh_vhost

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
DATABASE, VHOST = "loa_e2e", "loa-e2e"
TOKENS = Tokens(Settings().token_secret)


async def fresh_database(stack) -> None:
    conn = await asyncpg.connect(stack.postgres.dsn.rsplit("/", 1)[0] + "/postgres")
    try:
        await conn.execute(f"drop database if exists {DATABASE} with (force)")
        await conn.execute(f"create database {DATABASE}")
    finally:
        await conn.close()


@pytest.fixture(scope="module")
async def product(stack):
    """Loa as ``./loa up`` brings it up, with the demo province loaded and the simulator running."""
    if stack is None:
        pytest.skip("brings up its own services on the launcher's test servers")
    await fresh_database(stack)
    await fresh_vhost(stack, VHOST)
    shutil.rmtree(stack.folder / "e2e", ignore_errors=True)  # this run's logs only
    instance = stack.product(
        database=DATABASE,
        vhost=VHOST,
        scheduler_port=free_port(),
        metrics_port=free_port(),
        run_name="e2e",
    )
    try:
        await asyncio.to_thread(instance.up, with_apps=True, demo=True)
        yield instance
    finally:
        instance.down_services()


@pytest.fixture
async def http(product):
    scheduler, metrics = product.apps()
    async with aiohttp.ClientSession() as session:
        yield session, scheduler.url, metrics.url


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def august_report(http) -> dict:
    session, _, metrics = http
    params = {"month": "2023-08", "province": "dak-lak"}
    url = f"{metrics}/v1/reports/monthly"
    async with session.get(url, params=params, headers=bearer(TOKENS.viewer)) as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def test_august_2023_reports_the_seed_figures(http):
    report = await august_report(http)
    totals = report["totals"]
    assert totals["loudspeaker_airings"] == 664
    assert totals["communes_reached"] == 129
    # Fourteen bulletins were missed and each was made up the next morning by a make-up naming it
    # (makeup_of): a made-up miss counts once, as made up, so 664 planned, 664 aired, none missed.
    made_up = (totals["loudspeaker_planned"], totals["loudspeaker_missed"], totals["loudspeaker_made_up"])
    assert made_up == (664, 0, 14)
    [livestream] = report["livestreams"]
    assert {k: livestream["values"][k] for k in ("views", "interactions", "shares", "comments")} == {
        "views": 1700,
        "interactions": 778,
        "shares": 139,
        "comments": 105,
    }
    # "fanpage đăng tải 40 tin, bài, video thu hút hơn 21.500 lượt tiếp cận; gần 2.000 lượt tương tác;
    # zalo ... 8 tin, bài thu hút 882 lượt xem nội dung và 80 lượt chia sẻ"
    pages = {line["label"]: line["values"] for line in report["pages"]}
    fanpage, zalo = pages["Fanpage BHXH tỉnh Đắk Lắk"], pages["Zalo BHXH tỉnh Đắk Lắk"]
    assert (fanpage["posts"] + fanpage["livestreams"], fanpage["reach"], fanpage["interactions"]) == (
        40,
        21500,
        1976,
    )
    assert (zalo["posts"], zalo["views"], zalo["shares"]) == (8, 882, 80)
    by_language = {line["label"]: line["values"] for line in report["loudspeaker_by_language"]}
    assert by_language == {
        "Kinh": {"aired": 516, "communes": 129},
        "Êđê": {"aired": 88, "communes": 22},
        "M'nông": {"aired": 60, "communes": 15},
    }
    # In Vietnamese alphabetical order, as the centre would list them.
    assert [line["label"] for line in report["loudspeaker_by_language"]] == ["Êđê", "Kinh", "M'nông"]
    assert report["loudspeaker_by_commune"][0]["label"] == "Xã Bình An"
    # "Câu chuyện chính sách" every weekday; one evening missed, one partly aired.
    assert report["radio"] == [
        {
            "label": "Giờ thứ 9",
            "values": {
                "planned": 23,
                "aired": 22,
                "missed": 1,
            },
        }
    ]
    assert report["title"] == "Báo cáo công tác truyền thông tháng 8/2023 — Đắk Lắk"
    assert livestream["label"] == "BHYT học sinh, sinh viên - Bảo vệ, chăm sóc sức khỏe thế hệ trẻ"
    assert livestream["values"]["page"] == "Fanpage BHXH tỉnh Đắk Lắk"


async def test_loading_the_demo_again_adds_nothing(product, http):
    session, scheduler, _ = http
    params = {"from": "2023-08-01", "to": "2023-09-01", "limit": 1, "total": "true"}

    async def planned() -> int:
        async with session.get(f"{scheduler}/v1/airings", params=params, headers=bearer(TOKENS.planner)) as r:
            return (await r.json())["total"]

    before, report_before = await planned(), await august_report(http)
    await asyncio.to_thread(product.load_demo)
    # airings listed: bulletins with their 14 make-ups, Giờ thứ 9 on weekdays, the livestream, the
    # fanpage's and Zalo's posts
    assert await planned() == before == 664 + 14 + 23 + 1 + 39 + 8
    assert (await august_report(http))["totals"] == report_before["totals"]


async def test_the_campaign_reached_every_commune(http):
    session, scheduler, _ = http
    async with session.get(f"{scheduler}/v1/campaigns", headers=bearer(TOKENS.planner)) as r:
        campaigns = {c["name"]: c for c in (await r.json())["items"]}
    campaign_id = campaigns["BHYT học sinh, sinh viên"]["campaign_id"]
    url = f"{scheduler}/v1/campaigns/{campaign_id}/progress"
    async with session.get(url, headers=bearer(TOKENS.planner)) as r:
        progress = await r.json()
    assert (progress["communes_targeted"], progress["communes_reached"]) == (129, 129)
    assert progress["by_kind"]["loudspeaker"]["aired"] == 664  # partly aired ones included, as in the report


@pytest.mark.skipif(
    not (CHROMIUM and DRIVER), reason="needs Debian's chromium and chromium-driver (.ci/run installs them)"
)
async def test_the_dashboard_moves_on_its_own(product, http):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    _, _, metrics = http
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=412,1600"):
        options.add_argument(argument)
    browser = await asyncio.to_thread(webdriver.Chrome, service=Service(DRIVER), options=options)
    try:
        await asyncio.to_thread(browser.get, f"{metrics}/dashboard?token={TOKENS.viewer}")

        def tile(name: str) -> str:
            return browser.find_element("id", name).text

        async def changed(name: str, old: tuple[str, ...], seconds: float) -> str:
            """The tile's text once it is no longer one of ``old`` (or as it is after ``seconds``)."""
            for _ in range(int(seconds * 2)):
                if (text := await asyncio.to_thread(tile, name)) not in old:
                    return text
                await asyncio.sleep(0.5)
            return await asyncio.to_thread(tile, name)

        async def shown(name: str) -> str:
            return await changed(name, ("–", "0"), 30)

        first = await shown("views")
        assert first not in ("–", "0"), "the live livestream's views never showed"
        # Nothing is posted by the test: the simulator alone moves the number, over the SSE stream.
        assert await changed("views", (first,), 45) != first, "the views did not change without a reload"
        ARTIFACTS.mkdir(exist_ok=True)
        await asyncio.to_thread(browser.save_screenshot, str(ARTIFACTS / "demo-dashboard.png"))

        await asyncio.to_thread(browser.get, f"{metrics}/dashboard?month=2023-08&token={TOKENS.viewer}")
        assert await shown("aired") == "664"
        assert await shown("views") == "1.700"  # Vietnamese thousands separator
        assert await asyncio.to_thread(tile, "communes") == "129"

        def first_commune() -> str:
            return browser.find_element("css selector", "#coverage td").text

        for _ in range(60):  # the coverage table loads after the tiles
            if await asyncio.to_thread(first_commune) != "đang tải…":
                break
            await asyncio.sleep(0.5)
        assert await asyncio.to_thread(first_commune) == "Xã Bình An"  # Vietnamese order, as in the report

        def posts_table() -> list[str]:
            return [row.text for row in browser.find_elements("css selector", "#posts tr")]

        for _ in range(60):
            if await asyncio.to_thread(posts_table) != ["đang tải…"]:
                break
            await asyncio.sleep(0.5)
        assert await asyncio.to_thread(posts_table) == ["Facebook 39 21.500 0 1.198 0", "Zalo 8 0 882 0 80"]
        await asyncio.to_thread(browser.save_screenshot, str(ARTIFACTS / "demo-dashboard-2023-08.png"))
    finally:
        await asyncio.to_thread(browser.quit)


def walkthrough_commands(name: str) -> list[str]:
    """The ``sh`` blocks of a walkthrough, without ``./loa up`` (the fixture did that)."""
    text = (ROOT / "docs" / name).read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    return [b for b in blocks if not b.lstrip().startswith("./loa")]


@pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("jq")),
    reason="the walkthroughs use curl and jq (.ci/run installs them)",
)
async def test_the_walkthroughs_curl_examples_run_as_written(product, tmp_path):
    commands = walkthrough_commands("walkthrough.vi.md")
    assert commands == walkthrough_commands("walkthrough.en.md"), "the two walkthroughs show other commands"
    scheduler, metrics = product.apps()
    script = "set -euo pipefail\n" + "\n".join(commands)
    script = script.replace("http://127.0.0.1:8081", scheduler.url).replace(
        "http://127.0.0.1:8082", metrics.url
    )
    env = {
        "PATH": os.environ["PATH"],
        "LANG": "C.UTF-8",
        "LOA_TOKEN_PLANNER": TOKENS.planner,
        "LOA_TOKEN_OPERATOR": issue(
            TOKENS.secret, "Y Bơ Êban", "operator", resources=["loudspeaker:xa-ea-tu"]
        ),
        "LOA_TOKEN_VIEWER": TOKENS.viewer,
    }
    done = await asyncio.to_thread(
        subprocess.run,
        ["bash", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = done.stdout
    assert done.returncode == 0, f"{out}\n{done.stderr}"
    assert '"planned": 45' in out and '"communes": 3' in out
    assert (
        "17:00 Kinh Bản tin Tháng vận động BHXH toàn dân\n17:20 Êđê Bản tin Tháng vận động BHXH toàn dân"
        in out
    )
    assert "aired\nmissed: mất điện cả buổi chiều" in out
    assert "X-WR-CALNAME:Loa — Tháng vận động BHXH toàn dân" in out
    assert "Báo cáo chiến dịch Tháng vận động BHXH toàn dân — tháng 10/2026" in out
    assert (tmp_path / "bao-cao-2026-10.xlsx").read_bytes()[:2] == b"PK"  # an XLSX is a zip
    assert (
        '{"loudspeaker_planned":664,"loudspeaker_airings":664,"loudspeaker_missed":0,"loudspeaker_made_up":14,'
        '"communes_reached":129}' in out
    )
    assert '{"views":1700,"interactions":778,"shares":139,"comments":105}' in out
    assert (
        '{"page":"Fanpage BHXH tỉnh Đắk Lắk","posts":39,"livestreams":1,"reach":21500,"views":1700,'
        '"interactions":1976,"shares":139}' in out
    )
    assert '{"page":"Zalo BHXH tỉnh Đắk Lắk","posts":8,"livestreams":0,"reach":0,"views":882' in out
