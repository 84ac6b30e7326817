import pytest

from services.eventstore.memory import InMemoryEventStore
from tests.eventstore_contract import EventStoreContract


class TestInMemoryEventStore(EventStoreContract):
    @pytest.fixture
    def store(self):
        return InMemoryEventStore()

    async def test_positions_are_dense_in_memory(self, store):
        from tests.eventstore_contract import scheduled

        result = await store.append("airing-x", [scheduled(), scheduled()])
        assert result.positions == (1, 2)
