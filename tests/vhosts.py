"""A fresh RabbitMQ virtual host for a product that a test brings up on the test servers."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from services.devstack import Stack, broker_users


async def fresh_vhost(stack: Stack, vhost: str) -> None:
    """``vhost`` emptied (deleted and made again) with the administrator's rights and the services'
    own broker users (each service runs on its own user, as ``Stack.app_env`` names them)."""
    api = stack.rabbitmq.management_url + "api"
    login = {"Authorization": aiohttp.encode_basic_auth("loa", "loa")}
    async with aiohttp.ClientSession(headers=login) as http:
        deadline = time.monotonic() + 60
        while True:  # the management plugin answers a little after the broker
            try:
                async with http.delete(f"{api}/vhosts/{vhost}") as r:
                    assert r.status in (204, 404), await r.text()
                break
            except aiohttp.ClientConnectionError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(1)
        async with http.put(f"{api}/vhosts/{vhost}") as r:
            assert r.status in (201, 204), await r.text()
        grant = {"configure": ".*", "write": ".*", "read": ".*"}
        async with http.put(f"{api}/permissions/{vhost}/loa", json=grant) as r:
            assert r.status in (201, 204), await r.text()
    await asyncio.to_thread(broker_users.ensure, stack.rabbitmq.management_url, vhost)
