"""The native launcher: PostgreSQL and RabbitMQ for development, tests and demos, without Docker.

    python -m services.devstack up | down | status | env

Python API (used by the test fixtures)::

    stack = Stack.for_tests()
    stack.up()
    stack.pg_dsn, stack.amqp_url
    stack.down()
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote

from services.devstack import broker_users
from services.devstack.apps import App
from services.devstack.servers import Postgres, RabbitMQ, StackError, say, server_folder

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Stack:
    """One PostgreSQL and one RabbitMQ, with their data in ``folder``, and Loa's services on them.

    The services use ``database`` and the RabbitMQ virtual host ``vhost``; the
    end-to-end test runs a second product on the test servers in its own pair.
    """

    folder: Path
    postgres: Postgres
    rabbitmq: RabbitMQ
    database: str = "loa"
    vhost: str = "/"
    scheduler_port: int = 8081
    metrics_port: int = 8082
    web_port: int | None = None  # the web pages; None: a product without them (the e2e test's)
    run_name: str = "run"
    replicas: int = 0  # processes of each service; 0: as many as the last ``up`` started

    @classmethod
    def create(
        cls,
        folder: Path,
        *,
        pg_port: int,
        amqp_port: int,
        management_port: int,
        dist_port: int,
        epmd_port: int,
    ) -> Stack:
        folder = folder.resolve()
        servers = server_folder(folder)
        return cls(
            folder,
            Postgres(servers / "postgres", pg_port),
            RabbitMQ(servers / "rabbitmq", amqp_port, management_port, dist_port, epmd_port),
        )

    @classmethod
    def for_dev(cls) -> Stack:
        """The stack ``./loa up`` runs; ports and folder overridable by environment variables."""
        env = os.environ
        stack = cls.create(
            Path(env.get("LOA_STACK_DIR", ROOT / ".loa" / "dev")),
            pg_port=int(env.get("LOA_PG_PORT", 55432)),
            amqp_port=int(env.get("LOA_AMQP_PORT", 56720)),
            management_port=int(env.get("LOA_RABBIT_MGMT_PORT", 15690)),
            dist_port=int(env.get("LOA_RABBIT_DIST_PORT", 25690)),
            epmd_port=int(env.get("LOA_EPMD_PORT", 44369)),
        )
        return replace(
            stack,
            scheduler_port=int(env.get("LOA_SCHEDULER_PORT", 8081)),
            metrics_port=int(env.get("LOA_METRICS_PORT", 8082)),
            web_port=int(env.get("LOA_WEB_PORT", 8080)),
        )

    @classmethod
    def for_tests(cls) -> Stack:
        """A separate pair for the test suite, so tests never touch the demo's data.

        ``LOA_TEST_PORT_OFFSET`` moves every port, so that two checkouts on one
        machine can run their suites at the same time.
        """
        offset = int(os.environ.get("LOA_TEST_PORT_OFFSET", 0))
        return cls.create(
            ROOT / ".loa" / "test",
            pg_port=55433 + offset,
            amqp_port=56721 + offset,
            management_port=15691 + offset,
            dist_port=25691 + offset,
            epmd_port=44369 + offset,
        )

    def product(
        self, *, database: str, vhost: str, scheduler_port: int, metrics_port: int, run_name: str
    ) -> Stack:
        """Another instance of the product on the same servers (its own database and virtual host)."""
        return replace(
            self,
            web_port=None,
            database=database,
            vhost=vhost,
            scheduler_port=scheduler_port,
            metrics_port=metrics_port,
            run_name=run_name,
        )

    @property
    def pg_dsn(self) -> str:
        return self.postgres.dsn.rsplit("/", 1)[0] + f"/{self.database}"

    @property
    def amqp_url(self) -> str:
        return self.rabbitmq.url if self.vhost == "/" else self.rabbitmq.url + quote(self.vhost, safe="")

    @property
    def replicas_file(self) -> Path:
        return self.folder / self.run_name / "replicas"

    def replica_count(self) -> int:
        """How many processes of each service: as asked, else as the last ``up`` started."""
        if self.replicas:
            return self.replicas
        try:
            return max(1, int(self.replicas_file.read_text()))
        except (OSError, ValueError):
            return 1

    def apps(self) -> list[App]:
        """Loa's services, each on its port (LOA_SCHEDULER_PORT …); replica n (from 2) on port + 2(n-1)."""
        run = self.folder / self.run_name
        out = []
        for n in range(1, self.replica_count() + 1):
            suffix, step = ("" if n == 1 else f"-{n}"), 2 * (n - 1)
            for service, port in (("scheduler", self.scheduler_port), ("metrics", self.metrics_port)):
                env = {f"LOA_{service.upper()}_PORT": str(port + step)} if step else {}
                out.append(App(service + suffix, f"services.{service}", port + step, run, env=env))
        if self.web_port:
            out.append(App("web", "services.web", self.web_port, run))
        return out

    def service_apps(self, service: str) -> list[App]:
        """Every replica of ``service`` (scheduler or metrics)."""
        return [a for a in self.apps() if a.module == f"services.{service}"]

    def restart(self, what: str) -> None:
        """Restart one part: ``postgres``, ``rabbitmq``, or every replica of ``scheduler``/``metrics``."""
        if what == "postgres":
            self.postgres.down()
            self.postgres.up()
        elif what == "rabbitmq":
            self.rabbitmq.down()
            self.rabbitmq.up()
        elif what in ("scheduler", "metrics"):
            for app in self.service_apps(what):
                app.down()
                app.up(self.app_env())
        else:
            raise StackError(f"cannot restart {what!r}: postgres, rabbitmq, scheduler or metrics")

    def simulator(self) -> App:
        """The collector simulator of the demo: keeps live livestreams' counters moving."""
        run = self.folder / self.run_name
        return App("simulator", "services.demo", None, run, ("simulate", *self._demo_args()))

    def _demo_args(self) -> tuple[str, ...]:
        scheduler, metrics = self.service_apps("scheduler")[0], self.service_apps("metrics")[0]
        return ("--scheduler", scheduler.url, "--metrics", metrics.url)

    def app_env(self) -> dict[str, str]:
        return {
            "LOA_PG_DSN": self.pg_dsn,
            "LOA_AMQP_URL": self.amqp_url,
            "LOA_SCHEDULER_PORT": str(self.scheduler_port),
            "LOA_METRICS_PORT": str(self.metrics_port),
            "LOA_DEV": "1",  # a development stack: the services accept the development token key
            **broker_users.service_env(self.amqp_url),  # each service on its own broker user
            "LOA_WEB_PORT": str(self.web_port or 8080),
            "LOA_SCHEDULER_URL": f"http://127.0.0.1:{self.scheduler_port}",
            "LOA_METRICS_URL": f"http://127.0.0.1:{self.metrics_port}",
        }

    def load_demo(self) -> None:
        """Plan, confirm and count the demo province through the API (idempotent: a rerun adds nothing)."""
        say("loading the demo province through the API (a rerun changes nothing) …")
        command = [sys.executable, "-m", "services.demo", "load", *self._demo_args()]
        done = subprocess.run(command, env={**os.environ, **self.app_env()}, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise StackError(
                f"loading the demo failed ({done.returncode}); see the logs in {self.folder / self.run_name}"
            )

    @property
    def servers_folder(self) -> Path:
        """Where PostgreSQL and RabbitMQ keep their data (``folder`` unless their users cannot reach it)."""
        return self.postgres.folder.parent

    def up(self, *, with_apps: bool = False, demo: bool = False) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o755)
        if self.servers_folder != self.folder:
            say(f"the servers' users cannot enter {self.folder}: their data goes to {self.servers_folder}")
            for path in (self.servers_folder.parent, self.servers_folder):
                path.mkdir(parents=True, exist_ok=True)
                path.chmod(0o755)
        # Installed one after the other (one apt at a time), then started side by side: RabbitMQ's
        # Erlang boot (~9 s) hides PostgreSQL's initdb and start.
        self.postgres.ensure_installed()
        self.rabbitmq.ensure_installed()
        with ThreadPoolExecutor(2) as pool:
            for started in [pool.submit(self.postgres.up), pool.submit(self.rabbitmq.up)]:
                started.result()
        if with_apps:
            self.replicas_file.parent.mkdir(parents=True, exist_ok=True)
            self.replicas_file.write_text(str(self.replica_count()))
            broker_users.ensure(self.rabbitmq.management_url, self.vhost)
            for app in self.apps():
                app.up(self.app_env())
        if with_apps and demo:
            self.load_demo()
            self.simulator().up(self.app_env())

    def down(self) -> None:
        self.down_services()
        self.rabbitmq.down()
        self.postgres.down()

    def down_services(self) -> None:
        """Stop the simulator and the services (every replica), leaving PostgreSQL and RabbitMQ running."""
        for app in [self.simulator(), *self.apps()]:
            app.down()
        run = self.folder / self.run_name
        for pid_file in run.glob("*.pid"):  # replicas of an earlier, larger ``up``
            App(pid_file.stem, "", None, run).down()

    def status(self) -> dict[str, bool]:
        state = {"postgres": self.postgres.running(), "rabbitmq": self.rabbitmq.running()}
        for app in self.apps():
            state[app.name] = bool(app.pid()) and app.healthy()
        if self.simulator().pid():
            state["simulator"] = True
        return state

    def env_lines(self) -> list[str]:
        return [f"export LOA_PG_DSN={self.pg_dsn}", f"export LOA_AMQP_URL={self.amqp_url}"]


__all__ = ["Stack", "StackError"]
