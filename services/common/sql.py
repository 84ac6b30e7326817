"""Small SQL building blocks shared by the read models' queries."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def where(conditions: Iterable[tuple[str, Any, str]]) -> tuple[str, list[Any]]:
    """``where a = $1 and b >= $2`` for the (expression, value, operator) whose value is given."""
    clauses, args = [], []
    for expression, value, op in conditions:
        if value is not None:
            args.append(value)
            clauses.append(f"{expression} {op} ${len(args)}")
    return ("where " + " and ".join(clauses)) if clauses else "", args


def forward_update(
    table: str, key: str, columns: Iterable[str], *, jsonb: frozenset[str] = frozenset()
) -> str:
    """An ``update`` of a read model's row by ``key`` ($1) from the event at position $2, setting
    ``columns`` from $3 on, that only moves forward: a replay re-applies events, and one that is
    not newer than the row changes nothing. ``jsonb``: the columns whose values are JSON."""
    sets = ", ".join(f"{c} = ${i + 3}{'::jsonb' if c in jsonb else ''}" for i, c in enumerate(columns))
    return f"update {table} set {sets}, position = $2 where {key} = $1 and position < $2"


VIETNAMESE = 'collate "vi-x-icu"'
"""ICU's Vietnamese alphabetical order (Bình before Buôn, Đắk after Cư, Êđê before Kinh), for names
people read in lists; PostgreSQL's Debian packages and Docker images are built with ICU."""
