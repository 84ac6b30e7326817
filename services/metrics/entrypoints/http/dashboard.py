"""``GET /dashboard``: the live dashboard page (Vietnamese, phone-friendly)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from services.common.web import reader

routes = web.RouteTableDef()
DASHBOARD = Path(__file__).resolve().parents[2] / "static" / "dashboard.html"
# A browser that opens the dashboard without its link is asked for the token rather than shown JSON.
ASK_FOR_TOKEN = """<!doctype html><html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Loa — bảng điều khiển</title></head>
<body style="font-family:system-ui,sans-serif;margin:2rem"><h1>Bảng điều khiển Loa</h1>
<p>Cần mã truy cập (mã liên kết của bảng điều khiển).</p>
<form method="get"><input name="token" size="40" required placeholder="mã truy cập">
<button>Mở</button></form></body></html>""".encode()


def _browser(request: web.Request) -> bool:
    return "text/html" in request.headers.get("Accept", "")


@routes.get("/dashboard")
async def dashboard(request: web.Request) -> web.Response:
    """The live dashboard (Vietnamese, phone-friendly); open it with ``?token=<dashboard link token>``."""
    if "token" not in request.query and "Authorization" not in request.headers and _browser(request):
        return web.Response(status=401, body=ASK_FOR_TOKEN, content_type="text/html", charset="utf-8")
    reader(request)
    return web.Response(body=DASHBOARD.read_bytes(), content_type="text/html", charset="utf-8")
