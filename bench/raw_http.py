"""The HTTP ceiling for the scheduler benchmark: aiohttp + asyncpg, one INSERT per request, nothing else.

python -m bench.raw_http --dsn DSN --port PORT
"""

from __future__ import annotations

import argparse
import uuid

import asyncpg
import orjson
import uvloop
from aiohttp import web


def create_app(dsn: str) -> web.Application:
    app = web.Application()
    pool_key = web.AppKey("pool", asyncpg.Pool)

    async def database(app: web.Application):
        app[pool_key] = await asyncpg.create_pool(dsn, min_size=4, max_size=10)
        async with app[pool_key].acquire() as conn:
            await conn.execute("create table if not exists bench_raw_http (id uuid primary key, body jsonb)")
        yield
        await app[pool_key].close()

    async def insert(request: web.Request) -> web.Response:
        body = await request.json(loads=orjson.loads)
        row_id = uuid.uuid4()
        async with request.app[pool_key].acquire() as conn:
            await conn.execute(
                "insert into bench_raw_http values ($1, $2::jsonb)", row_id, orjson.dumps(body).decode()
            )
        return web.json_response({"id": str(row_id)}, status=201)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.cleanup_ctx.append(database)
    app.router.add_post("/insert", insert)
    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvloop.install()
    web.run_app(create_app(args.dsn), host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
