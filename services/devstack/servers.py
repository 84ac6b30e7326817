"""PostgreSQL and RabbitMQ run from a folder inside the project, without Docker.

Each server runs as an unprivileged user (PostgreSQL refuses root), listens on
loopback only, on ports that do not clash with system servers, and keeps its
data and logs under the stack's folder (``.loa/<name>/``).
"""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


class StackError(RuntimeError):
    """A server could not be installed, started or reached; the message says why."""


def say(message: str) -> None:
    print(f"[loa] {message}", file=sys.stderr, flush=True)


def is_root() -> bool:
    return os.geteuid() == 0


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    """A loopback port nobody listens on now (for a second instance of a service)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(what: str, check, timeout: float) -> None:
    """Poll ``check()`` until it is true, saying what we wait for."""
    deadline = time.monotonic() + timeout
    said = False
    while not check():
        if time.monotonic() > deadline:
            raise StackError(f"{what} did not come up within {timeout:.0f} s")
        if not said:
            say(f"waiting for {what} …")
            said = True
        time.sleep(0.25)


def server_folder(folder: Path) -> Path:
    """Where the servers keep their data for a stack in ``folder``.

    ``folder`` itself, unless root runs a clone that the unprivileged server users
    cannot reach (a checkout in /root, mode 700): then a folder of its own under
    /var/lib/loa, named after the checkout, so that initdb and RabbitMQ can enter it.
    """
    if not is_root() or all(p.stat().st_mode & 0o001 for p in folder.parents if p.exists()):
        return folder
    slug = "".join(c if c.isalnum() else "-" for c in str(folder)).strip("-")[-60:]
    digest = hashlib.sha1(str(folder).encode()).hexdigest()[:8]
    return Path("/var/lib/loa") / f"{slug}-{digest}"


def apt_install(packages: list[str]) -> None:
    """Install Debian packages, or explain how when we may not."""
    if not is_root():
        raise StackError(
            f"missing {', '.join(packages)}: install them with "
            f"`sudo apt-get install -y {' '.join(packages)}` and run again"
        )
    say(f"installing {', '.join(packages)} from the OS packages …")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages], check=True, env=env
    )


@dataclass
class RunAs:
    """The unprivileged account a server runs under (the current user when not root)."""

    user: str | None

    def kwargs(self) -> dict:
        return {"user": self.user, "group": self._group()} if self.user else {}

    def _group(self) -> int | None:
        return pwd.getpwnam(self.user).pw_gid if self.user else None

    def own(self, path: Path) -> None:
        if self.user:
            record = pwd.getpwnam(self.user)
            for root, dirs, files in os.walk(path):
                os.chown(root, record.pw_uid, record.pw_gid)
                for name in dirs + files:
                    os.chown(os.path.join(root, name), record.pw_uid, record.pw_gid, follow_symlinks=False)


def account(system_user: str) -> RunAs:
    return RunAs(system_user if is_root() else None)


def run(cmd: list[str], who: RunAs, *, env: dict | None = None, check: bool = True, timeout: float = 120):
    return subprocess.run(
        cmd,
        env=env,
        check=check,
        timeout=timeout,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd="/",
        **who.kwargs(),
    )


# -- PostgreSQL -------------------------------------------------------------------


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


@dataclass
class Postgres:
    folder: Path
    port: int

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def dsn(self) -> str:
        return f"postgresql://loa@127.0.0.1:{self.port}/loa"

    def ensure_installed(self) -> Path:
        if postgres_bin() is None:
            apt_install(["postgresql"])
        found = postgres_bin()
        if found is None:
            raise StackError("PostgreSQL binaries not found under /usr/lib/postgresql/*/bin")
        return found

    def running(self) -> bool:
        return port_open(self.port) and (self.data / "postmaster.pid").exists()

    def up(self) -> None:
        bin_dir = self.ensure_installed()
        who = account("postgres")
        if self.running():
            say(f"PostgreSQL already runs on 127.0.0.1:{self.port}")
            return
        if port_open(self.port):
            raise StackError(f"port {self.port} is taken by another program; set LOA_PG_PORT")
        self.folder.mkdir(parents=True, exist_ok=True)
        if not (self.data / "PG_VERSION").exists():
            say(f"creating a PostgreSQL cluster in {self.data}")
            who.own(self.folder)
            run(
                [str(bin_dir / "initdb"), "-D", str(self.data), "-U", "loa", "--auth=trust",
                 "-E", "UTF8", "--locale=C.UTF-8"],
                who,
            )  # fmt: skip
            with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
                conf.write(
                    "\n# Loa development/test server (durable commits: benchmarks measure them)\n"
                    "listen_addresses = '127.0.0.1'\n"
                    f"port = {self.port}\n"
                    f"unix_socket_directories = '{self.folder}'\n"
                    "max_connections = 200\n"
                    "shared_buffers = 256MB\n"
                    "fsync = on\nsynchronous_commit = on\n"
                    "idle_in_transaction_session_timeout = '10min'\n"
                    "log_min_messages = warning\n"
                )
            who.own(self.folder)
        say(f"starting PostgreSQL on 127.0.0.1:{self.port}")
        result = run(
            [str(bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "postgres.log"),
             # The port on the command line: a data folder made under another port offset (a second
             # checkout's tests, LOA_TEST_PORT_OFFSET changed) listens where it is asked to now.
             "-o", f"-p {self.port}", "-w", "-t", "60", "start"],
            who,
            check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise StackError(f"PostgreSQL did not start:\n{result.stdout}\n{self._log_tail()}")
        wait_until(f"PostgreSQL on port {self.port}", lambda: port_open(self.port), 60)
        exists = run(
            [str(bin_dir.parent / "bin" / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "loa",
             "-d", "postgres", "-tAc", "select 1 from pg_database where datname = 'loa'"],
            who,
        )  # fmt: skip
        if exists.stdout.strip() != "1":
            run([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "loa", "loa"], who)

    def create_database(self, name: str) -> None:
        bin_dir = self.ensure_installed()
        who = account("postgres")
        exists = run(
            [str(bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "loa", "-d", "postgres",
             "-tAc", f"select 1 from pg_database where datname = '{name}'"],
            who,
        )  # fmt: skip
        if exists.stdout.strip() != "1":
            run([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "loa", name], who)

    def down(self) -> None:
        bin_dir = postgres_bin()
        if bin_dir is None or not (self.data / "postmaster.pid").exists():
            return
        say("stopping PostgreSQL")
        run([str(bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"], account("postgres"),
            check=False)  # fmt: skip

    def _log_tail(self) -> str:
        log = self.folder / "postgres.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-20:]) if log.exists() else ""


# -- RabbitMQ ---------------------------------------------------------------------

RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")


@dataclass
class RabbitMQ:
    folder: Path
    port: int
    management_port: int
    dist_port: int
    epmd_port: int

    @property
    def node(self) -> str:
        return f"loa-{self.port}@localhost"

    @property
    def url(self) -> str:
        return f"amqp://loa:loa@127.0.0.1:{self.port}/"

    @property
    def management_url(self) -> str:
        return f"http://127.0.0.1:{self.management_port}/"

    def env(self) -> dict[str, str]:
        return {
            "PATH": f"{RABBIT_BIN}:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(self.folder),
            "LANG": "C.UTF-8",
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(self.folder / "rabbitmq.pid"),
            "RABBITMQ_CONF_ENV_FILE": str(self.folder / "rabbitmq-env.conf"),
        }

    def ensure_installed(self) -> None:
        if not (RABBIT_BIN / "rabbitmq-server").exists():
            apt_install(["rabbitmq-server"])
        if not (RABBIT_BIN / "rabbitmq-server").exists():
            raise StackError(f"RabbitMQ not found in {RABBIT_BIN}")

    def ctl(self, *args: str, tool: str = "rabbitmqctl", timeout: float = 60, check: bool = False):
        return run(
            [str(RABBIT_BIN / tool), "-n", self.node, *args],
            account("rabbitmq"),
            env=self.env(),
            timeout=timeout,
            check=check,
        )

    def running(self) -> bool:
        return port_open(self.port) and self.ctl("-q", "ping", tool="rabbitmq-diagnostics").returncode == 0

    def up(self) -> None:
        self.ensure_installed()
        who = account("rabbitmq")
        if self.running():
            say(f"RabbitMQ already runs on 127.0.0.1:{self.port}")
            return
        for port in (self.port, self.management_port, self.dist_port):
            if port_open(port):
                raise StackError(f"port {port} is taken by another program; set LOA_AMQP_PORT etc.")
        for sub in ("mnesia", "log"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        (self.folder / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            f"management.tcp.ip = 127.0.0.1\n"
            f"management.tcp.port = {self.management_port}\n"
            "default_user = loa\n"
            "default_pass = loa\n"
            "loopback_users = none\n"
            "log.console = false\n"
            "log.file.level = warning\n"
        )
        (self.folder / "enabled_plugins").write_text("[rabbitmq_management].\n")
        (self.folder / "rabbitmq-env.conf").write_text("")
        cookie = self.folder / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text(os.urandom(16).hex().upper())
        cookie.chmod(0o400)
        who.own(self.folder)
        say(f"starting RabbitMQ on 127.0.0.1:{self.port} (management on {self.management_port})")
        with open(self.folder / "server.out", "ab") as out:
            subprocess.Popen(
                [str(RABBIT_BIN / "rabbitmq-server")],
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=str(self.folder),
                start_new_session=True,
                **who.kwargs(),
            )
        wait_until(f"RabbitMQ on port {self.port}", lambda: port_open(self.port), 90)
        result = self.ctl("await_startup", "--timeout", "90", timeout=100)
        if result.returncode != 0:
            raise StackError(f"RabbitMQ did not start:\n{result.stdout}")

    def down(self) -> None:
        if not (RABBIT_BIN / "rabbitmqctl").exists() or not (self.folder / "rabbitmq.conf").exists():
            return
        if not port_open(self.port) and not port_open(self.dist_port):
            self.stop_epmd()
            return
        say("stopping RabbitMQ")
        self.ctl("shutdown", timeout=90)
        self.stop_epmd()

    def stop_epmd(self) -> None:
        """Stop the Erlang port mapper the node started on our port (it outlives the node).

        ``epmd -kill`` refuses while any node is still registered with it, so this
        never pulls the port mapper from under a broker that still runs.
        """
        epmd = shutil.which("epmd") or next(iter(sorted(glob.glob("/usr/lib/erlang/erts-*/bin/epmd"))), None)
        if epmd is None or not port_open(self.epmd_port):
            return
        done = run(
            [epmd, "-port", str(self.epmd_port), "-kill"], account("rabbitmq"), env=self.env(), check=False
        )
        if done.returncode == 0:
            say(f"stopped epmd on port {self.epmd_port}")

    def restart_app(self) -> None:
        """Stop and start the broker application (the node stays): a broker restart for tests."""
        self.ctl("stop_app", check=True)
        self.ctl("start_app", check=True)


def reset_folder(path: Path) -> None:
    """Remove a stack's data (used by ``down --purge``)."""
    if path.exists():
        shutil.rmtree(path)
