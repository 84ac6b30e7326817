"""The read-model port and its PostgreSQL adapter agree on what statistics may be grouped by (no IO)."""

from services.metrics.adapters.statistics import GROUPS as GROUP_SQL
from services.metrics.app.queries import GROUPS, Interest


def test_the_port_names_exactly_the_groups_the_adapter_spells_in_sql():
    assert tuple(GROUP_SQL) == GROUPS


def test_an_interest_wants_only_the_updates_it_names():
    update = {"airing_id": "a1", "campaign_id": None, "resource_id": "loudspeaker:xa-ea-tu"}
    assert Interest().wants(update)
    assert Interest(resource_id="loudspeaker:xa-ea-tu").wants(update)
    assert not Interest(resource_id="loudspeaker:xa-ea-kao").wants(update)
