"""python -m services.devstack up | down | status | env"""

from __future__ import annotations

import argparse
import sys

from services.devstack import Stack, StackError
from services.devstack.servers import reset_folder


def print_where_to_look(stack: Stack, *, with_apps: bool) -> None:
    from services.common.auth import Keyring, issue, issue_link
    from services.common.settings import Settings

    print("\n".join(stack.env_lines()))
    print(f"# RabbitMQ management: {stack.rabbitmq.management_url} (loa / loa)")
    if not with_apps:
        return
    for app in stack.apps():
        if app.name != "web":  # the pages have no API of their own; their links come below
            print(f"# {app.name}: {app.url}  (API docs {app.url}/docs, OpenAPI {app.url}/openapi.json)")
    metrics = next(a for a in stack.apps() if a.name == "metrics")
    secret = Keyring.from_settings(Settings())
    viewer = issue(secret, "Bảng điều khiển", "viewer")
    link = issue_link(secret, "/dashboard", sub="Bảng điều khiển")  # reads the dashboard, nothing else
    print(f"# dashboard (live, on a phone too): {metrics.url}/dashboard?token={link}")
    print(f"#   August 2023 of the demo province: {metrics.url}/dashboard?month=2023-08&token={link}")
    print(
        f'# monthly report: curl -o bao-cao-2023-08.xlsx -H "Authorization: Bearer $LOA_TOKEN_VIEWER" '
        f'"{metrics.url}/v1/reports/monthly?month=2023-08&province=dak-lak&format=xlsx"'
    )
    tokens = {
        "planner": issue(secret, "Trung tâm Truyền thông BHXH Đắk Lắk", "planner", province="dak-lak"),
        "operator": issue(secret, "Y Bơ Êban", "operator", resources=["loudspeaker:xa-ea-tu"]),
        "viewer": viewer,
        "collector": issue(secret, "Bộ thu số liệu", "collector"),
    }
    web = next((a for a in stack.apps() if a.name == "web"), None)
    if web:
        print(f"# planners' desk: {web.url}/signin?token={tokens['planner']}")
        print(f"# operator's phone page (Xã Ea Tu): {web.url}/signin?token={tokens['operator']}")
    print("# sample tokens (python -m services.common.auth --help issues more):")
    for role, token in tokens.items():
        print(f"export LOA_TOKEN_{role.upper()}={token}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.devstack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "env", "restart"])
    parser.add_argument("part", nargs="?", help="with restart: postgres, rabbitmq, scheduler or metrics")
    parser.add_argument(
        "--replicas",
        type=int,
        default=None,
        help="with up: processes of each service (ports: +2 per replica)",
    )
    parser.add_argument("--tests", action="store_true", help="the test suite's stack (.loa/test)")
    parser.add_argument("--purge", action="store_true", help="with down: delete the data folder too")
    parser.add_argument("--servers-only", action="store_true", help="with up: PostgreSQL and RabbitMQ only")
    parser.add_argument("--no-demo", action="store_true", help="with up: no demo province, no simulator")
    args = parser.parse_args(argv)
    stack = Stack.for_tests() if args.tests else Stack.for_dev()
    if args.command == "up":
        stack.replicas = max(1, args.replicas or 1)
    try:
        if args.command == "up":
            with_apps = not args.tests and not args.servers_only
            stack.up(with_apps=with_apps, demo=with_apps and not args.no_demo)
            print_where_to_look(stack, with_apps=not args.tests and not args.servers_only)
        elif args.command == "down":
            stack.down()
            if args.purge:
                reset_folder(stack.folder)
                reset_folder(stack.servers_folder)
        elif args.command == "status":
            state = stack.status()
            apps = {app.name: app for app in stack.apps()}
            for name, up in state.items():
                print(f"{name}: {'running' if up else 'stopped'}")
                if up and name in apps:
                    # /readyz names the database, the broker and each background task with its state.
                    print(f"  {apps[name].url}/readyz -> {apps[name].readiness()}")
            return 0 if all(state.values()) else 3
        elif args.command == "restart":
            if not args.part:
                parser.error("restart what? postgres, rabbitmq, scheduler or metrics")
            stack.restart(args.part)
        else:
            print("\n".join(stack.env_lines()))
    except StackError as exc:
        print(f"[loa] error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
