"""A Loa service as its own process on a schema of its own, for tests that watch a real process
(its memory in /proc, its answers under fuzzing).

python -m tests.integration.service_process scheduler|metrics SCHEMA PORT
(PostgreSQL, RabbitMQ and the token secret come from LOA_PG_DSN, LOA_AMQP_URL, LOA_TOKEN_SECRET.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import uvloop
from aiohttp import web

from services.common.auth import issue
from services.common.logging import configure_logging
from services.common.settings import Settings
from services.devstack.servers import free_port
from tests.integration.pg import unique_schema

SECRET = "test-secret-0123456789"
ROOT = Path(__file__).resolve().parents[2]
PLANNER = issue(SECRET, "Trung tâm Truyền thông BHXH", "planner")
"""A national planner (no province)."""


class Service:
    """One service as its own process (tests.integration.service_process) on a schema of its own."""

    def __init__(self, name: str, env: dict[str, str], folder: Path) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / f"{name}.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.integration.service_process", name, unique_schema(name[:5]),
                 str(self.port)],
                cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while not self.healthy():
            assert self.process.poll() is None, f"{name} exited:\n{self.log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"{name} did not start:\n{self.log.read_text()[-3000:]}"
            time.sleep(0.2)

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kilobytes = next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1]
        return int(kilobytes) / 1024

    def call(self, method: str, path: str, body: dict) -> int:
        request = urllib.request.Request(
            f"{self.url}{path}", data=json.dumps(body).encode(), method=method,
            headers={"Authorization": f"Bearer {PLANNER}", "Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def main(service: str, schema: str, port: int) -> None:
    settings = Settings()
    configure_logging("json", "warning")
    if service == "scheduler":
        from services.scheduler.bootstrap import create_app
    else:
        from services.metrics.bootstrap import create_app
    uvloop.install()
    web.run_app(create_app(settings, schema=schema), host="127.0.0.1", port=port, print=None)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
