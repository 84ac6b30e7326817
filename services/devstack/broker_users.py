"""RabbitMQ users with least privilege: one per service and one for collectors.

- ``loa-scheduler`` publishes ``schedule.*`` and ``access.*`` events to ``loa.events`` (its relay);
- ``loa-metrics`` reads its own queues (``metrics.*``), publishes only ``metrics.*`` to
  ``loa.events`` (figure updates) and dead-letters what it cannot handle;
- ``loa-collector`` publishes samples to the ``metrics.samples`` exchange and nothing else.

Permissions are regular expressions on exchange and queue names (configure, write, read); topic
permissions narrow the routing keys a user may publish on ``loa.events``, so that nobody but the
scheduler can put a ``schedule.AiringScheduled`` there. The launcher applies them through the
management API (``ensure``); ``docker/rabbitmq/definitions.json`` holds the same for Docker
(``python -m services.devstack.broker_users`` writes it).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from services.bus.topology import CONSUMERS

ROOT = Path(__file__).resolve().parents[2]
DEFINITIONS = ROOT / "docker" / "rabbitmq" / "definitions.json"
OURS = r"loa\.(events|dead-letter)"
# The relay declares and binds every known consumer's queue before it publishes (backfill): it may
# configure and bind them (write on the queue, read on loa.events), never consume from them.
PREDECLARED = "|".join(re.escape(queue) + r"(\.retry)?" for queue in CONSUMERS)
USERS: dict[str, dict[str, str]] = {
    "loa-scheduler": {
        "configure": rf"^({OURS}|{PREDECLARED})$",
        "write": rf"^({OURS}|{PREDECLARED})$",
        "read": rf"^{OURS}$",  # binding a queue reads its exchange
    },
    "loa-metrics": {
        "configure": rf"^({OURS}|metrics[^ ]*)$",
        "write": rf"^({OURS}|metrics[^ ]*|amq\.default)$",  # amq.default: back to its retry queues
        "read": rf"^({OURS}|metrics[^ ]*)$",
    },
    "loa-collector": {"configure": "^$", "write": r"^metrics\.samples$", "read": "^$"},
}
TOPICS: dict[str, dict[str, str]] = {
    "loa-scheduler": {"exchange": "loa.events", "write": r"^(schedule|access)\.", "read": ".*"},
    "loa-metrics": {"exchange": "loa.events", "write": r"^metrics\.", "read": ".*"},
    "loa-collector": {"exchange": "loa.events", "write": "^$", "read": "^$"},
}
SERVICES = {"scheduler": "loa-scheduler", "metrics": "loa-metrics", "collector": "loa-collector"}


def password(user: str) -> str:
    """The user's password: ``LOA_BROKER_PASSWORD_<SERVICE>``, else the development one (the user name)."""
    service = user.removeprefix("loa-").upper()
    return os.environ.get(f"LOA_BROKER_PASSWORD_{service}", user)


def url_for(amqp_url: str, service: str) -> str:
    """``amqp_url`` (the administrator's) with ``service``'s user and password instead."""
    user = SERVICES[service]
    parts = urlsplit(amqp_url)
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    netloc = f"{quote(user, safe='')}:{quote(password(user), safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def service_env(amqp_url: str) -> dict[str, str]:
    """The services' own broker URLs, as environment variables."""
    return {f"LOA_{s.upper()}_AMQP_URL": url_for(amqp_url, s) for s in ("scheduler", "metrics")}


def _call(api: str, method: str, path: str, body: dict | None, auth: tuple[str, str]) -> None:
    credentials = base64.b64encode(":".join(auth).encode()).decode()
    request = urllib.request.Request(
        f"{api.rstrip('/')}/api/{path}",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json", "Authorization": f"Basic {credentials}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        if response.status not in (200, 201, 204):
            raise RuntimeError(f"{method} {path}: {response.status}")


def ensure(management_url: str, vhost: str = "/", admin: tuple[str, str] = ("loa", "loa")) -> None:
    """Create (or update) the users and their permissions on ``vhost``: safe to run again."""
    v = quote(vhost, safe="")
    deadline = time.monotonic() + 60
    while True:  # the management plugin answers a moment after the broker
        try:
            _call(management_url, "GET", "whoami", None, admin)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    for user, permissions in USERS.items():
        _call(management_url, "PUT", f"users/{quote(user)}", {"password": password(user), "tags": ""}, admin)
        _call(management_url, "PUT", f"permissions/{v}/{quote(user)}", permissions, admin)
        _call(management_url, "PUT", f"topic-permissions/{v}/{quote(user)}", TOPICS[user], admin)


def _hash(secret: str, salt: bytes) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password))."""
    return base64.b64encode(salt + hashlib.sha256(salt + secret.encode()).digest()).decode()


def definitions(vhost: str = "/") -> dict:
    """The same users and permissions as a RabbitMQ definitions file (``load_definitions``)."""
    users = [{"name": "loa", "password_hash": _hash("loa", b"loa!"), "tags": ["administrator"],
              "hashing_algorithm": "rabbit_password_hashing_sha256"}]  # fmt: skip
    users += [
        {"name": u, "password_hash": _hash(password(u), u.encode()[:4]), "tags": [],
         "hashing_algorithm": "rabbit_password_hashing_sha256"}
        for u in USERS
    ]  # fmt: skip
    everything = {"configure": ".*", "write": ".*", "read": ".*"}
    return {
        "users": users,
        "vhosts": [{"name": vhost}],
        "permissions": [{"user": "loa", "vhost": vhost, **everything}]
        + [{"user": u, "vhost": vhost, **p} for u, p in USERS.items()],
        "topic_permissions": [{"user": u, "vhost": vhost, **t} for u, t in TOPICS.items()],
    }


if __name__ == "__main__":
    DEFINITIONS.parent.mkdir(parents=True, exist_ok=True)
    DEFINITIONS.write_text(json.dumps(definitions(), indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {DEFINITIONS.relative_to(ROOT)}", file=sys.stderr)
