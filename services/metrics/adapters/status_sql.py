"""The status sets of ``contracts.events.status`` spelled in SQL, over the read model's airings ``a``.

Every statistics and report query counts with these, so a number means the same
in the report, ``/v1/stats`` and the dashboard.
"""

from __future__ import annotations

from contracts.events.status import AIRED, MISSED, PARTIAL, PENDING, PLANNED, PUBLISHED_BY_SAMPLE, sql_set

PARTIAL_SQL = f"a.status in {sql_set(PARTIAL)}"


def made_up_sql(schema: str) -> str:
    """A missed airing that a make-up airing (not cancelled or bumped) names."""
    return (
        f"(a.status in {sql_set(MISSED)} and exists (select 1 from {schema}.airings m0"
        f" where m0.makeup_of = a.airing_id and m0.status in {sql_set(PLANNED)}))"
    )


def planned_sql(schema: str) -> str:
    """:func:`contracts.events.status.counts_as_planned`: a made-up miss is planned once, as its make-up."""
    return f"(a.status in {sql_set(PLANNED)} and not {made_up_sql(schema)})"


def missed_sql(schema: str) -> str:
    """:func:`contracts.events.status.counts_as_missed`: missed, and not made up."""
    return f"(a.status in {sql_set(MISSED)} and not {made_up_sql(schema)})"


def aired_sql(schema: str) -> str:
    """:func:`contracts.events.status.counts_as_aired`: confirmed aired or partly, an ended
    livestream, or a post (still pending) of which a sample arrived."""
    sampled = f"exists (select 1 from {schema}.figures f0 where f0.airing_id = a.airing_id)"
    return (
        f"(a.status in {sql_set(AIRED)} or (a.kind in {sql_set(PUBLISHED_BY_SAMPLE)}"
        f" and a.status in {sql_set(PENDING)} and {sampled}))"
    )
