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


VIETNAMESE = 'collate "vi-x-icu"'
"""ICU's Vietnamese alphabetical order (Bình before Buôn, Đắk after Cư, Êđê before Kinh), for names
people read in lists; PostgreSQL's Debian packages and Docker images are built with ICU."""
