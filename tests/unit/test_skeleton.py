"""The one skeleton (docs/adr/0007-one-skeleton.md), held by reading the source: a layer that
reaches past its neighbours fails here, not in a review."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("scheduler", "metrics")
SQL = re.compile(r"\b(select\s.+\sfrom|insert\s+into|delete\s+from|update\s+\S+\s+set)\b", re.I | re.S)
IO_LIBRARIES = {"asyncpg", "aio_pika", "aiormq", "aiohttp", "psycopg", "socket"}


def modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if p.name != "__init__.py")


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def strings(path: Path) -> list[str]:
    """Every string constant, f-strings' literal parts joined (the SQL a module would send)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.JoinedStr):
            found.append(" ".join(v.value for v in node.values if isinstance(v, ast.Constant)))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append(node.value)
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_the_domain_imports_only_contracts_and_its_own_domain(service):
    domain = ROOT / "services" / service / "domain"
    wrong = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in modules(domain)
        for name in imported(path)
        if (name.startswith("services.") and not name.startswith(f"services.{service}.domain"))
        or name.split(".")[0] in IO_LIBRARIES
    }
    assert not wrong, sorted(wrong)


@pytest.mark.parametrize("service", SERVICES)
def test_http_entrypoints_hold_no_sql_and_no_driver(service):
    http = ROOT / "services" / service / "entrypoints" / "http"
    assert modules(http), f"{service} has no entrypoints/http"
    wrong = [
        f"{path.relative_to(ROOT)}: {text.strip()[:60]!r}"
        for path in modules(http)
        for text in strings(path)
        if SQL.search(text)
    ] + [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules(http)
        for name in imported(path)
        if name.split(".")[0] in {"asyncpg", "aio_pika"}
    ]
    assert not wrong, wrong


def test_only_the_composition_roots_name_the_concrete_event_store():
    naming = {
        str(path.relative_to(ROOT))
        for service in SERVICES
        for path in modules(ROOT / "services" / service)
        if "PostgresEventStore" in path.read_text(encoding="utf-8")
    }
    assert naming == {f"services/{s}/bootstrap.py" for s in SERVICES}


# Readers of the log's tables outside services/eventstore, each with its reason: none. The rebuild
# reads through the port's scan, the importer's early arrivals wait behind append_in_order.
TABLE_READERS: set[str] = set()


def test_nothing_outside_the_event_store_reads_its_tables():
    reading = {
        str(path.relative_to(ROOT))
        for path in modules(ROOT / "services")
        if "eventstore" not in path.parts
        for text in strings(path)
        if re.search(r"\.(held_)?events\b", text) and SQL.search(text)
    }
    assert reading <= TABLE_READERS, sorted(reading - TABLE_READERS)
