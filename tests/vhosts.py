"""A fresh database and RabbitMQ virtual host for a product that a test brings up on the test servers."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import asyncpg

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


async def fresh_database(stack: Stack, database: str) -> None:
    """``database`` dropped (its connections closed) and made again, empty."""
    conn = await asyncpg.connect(stack.postgres.dsn.rsplit("/", 1)[0] + "/postgres")
    try:
        await conn.execute(f"drop database if exists {database} with (force)")
        await conn.execute(f"create database {database}")
    finally:
        await conn.close()


async def fresh_place(stack: Stack, database: str, vhost: str) -> None:
    """An empty database and an empty virtual host for one product, made side by side."""
    await asyncio.gather(fresh_database(stack, database), fresh_vhost(stack, vhost))
