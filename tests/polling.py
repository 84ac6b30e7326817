"""Waiting in tests for something another task or process makes true."""

import asyncio


async def eventually(predicate, timeout: float = 15.0) -> None:
    """Wait until ``predicate()`` holds; fail with TimeoutError after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        # Polling: the predicate reads state owned by code that has no event to wait on.
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.02)
