"""Loa's own services, run as background processes next to the servers (``./loa up``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from services.devstack.servers import StackError, say, wait_until


@dataclass
class App:
    """One background process; ``port`` None for a worker without HTTP (the collector simulator)."""

    name: str
    module: str
    port: int | None
    folder: Path
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)  # this process's own settings (its port)

    @property
    def pid_file(self) -> Path:
        return self.folder / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.folder / f"{self.name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def healthy(self) -> bool:
        if self.port is None:
            return self.pid() is not None
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def up(self, env: dict[str, str]) -> None:
        where = f" on {self.url}" if self.port else ""
        if self.pid() and self.healthy():
            say(f"{self.name} already runs{where}")
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        say(f"starting {self.name}{where} (log: {self.log_file})")
        with open(self.log_file, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", self.module, *self.args],
                env={**os.environ, **env, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid_file.write_text(str(process.pid))
        try:
            wait_until(f"{self.name}{where}", lambda: self.healthy() or process.poll() is not None, 90)
        finally:
            if process.poll() is not None:
                tail = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-20:])
                raise StackError(f"{self.name} exited with {process.returncode}:\n{tail}")

    def readiness(self) -> str:
        """What ``/readyz`` answers (its JSON names each background task), or why there is no answer."""
        if self.port is None:
            return "running" if self.pid() else "stopped"
        try:
            with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as response:
                return f"{response.status} {response.read().decode(errors='replace')}"
        except urllib.error.HTTPError as exc:
            return f"{exc.code} {exc.read().decode(errors='replace')}"
        except OSError as exc:
            return f"no answer ({exc})"

    def down(self) -> None:
        pid = self.pid()
        if pid is None:
            return
        say(f"stopping {self.name}")
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while self._alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if self._alive(pid):
            os.killpg(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)

    def _alive(self, pid: int) -> bool:
        # A process this one started stays a zombie, answering signal 0, until it is reaped.
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return False
        except ChildProcessError:
            pass  # not our child: the launcher that started it has gone, init reaps it
        return self.pid() is not None
