"""Typed keys of what the composition root and the middleware put on the application and requests."""

from __future__ import annotations

import gettext

from aiohttp import web

from services.common.settings import Settings
from services.web.client import LoaApi
from services.web.sessions import Session

SETTINGS = web.AppKey("settings", Settings)
API = web.AppKey("api", LoaApi)
CATALOGUES = web.AppKey("catalogues", dict[str, gettext.NullTranslations])
ASSET_VERSIONS = web.AppKey("asset_versions", dict[str, str])
CSRF_KEY = web.AppKey("csrf_key", str)
SESSION = web.RequestKey("session", Session | None)
LANGUAGE = web.RequestKey("language", str)
