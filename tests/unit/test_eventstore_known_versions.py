"""What a PostgreSQL event store remembers of the versions it saw committed (no IO)."""

from services.eventstore.postgres.known import KnownVersions


def test_the_versions_a_store_knows_are_only_committed_ones_and_the_newest_streams():
    known = KnownVersions(size=2)
    known.saw("a", 3)
    known.saw("a", 2)  # an older read does not take knowledge back
    assert known.has("a", 3) and not known.has("a", 4) and known.has("b", 0)
    known.saw("b", 1)
    known.saw("a", 3)  # seen again: now the newest
    known.saw("c", 1)  # over the size: the least recently seen (b) goes
    assert known.has("a", 3) and known.has("c", 1) and not known.has("b", 1)
    assert not KnownVersions(size=0).has("a", 1)
