"""The stream versions a store has seen committed, so that a writer need not ask again.

An append at version n must find the stream at n: version n there, n + 1 not. The unique
(stream_id, stream_version) index answers the second half on every insert. The first half costs a
probe of event n: its heap page, its commit status, its hint bits, about a fifth of an append's
machine CPU with 16 writers (issue 12). Yet a store that appended event n itself, or read it, already
knows: the log is append-only and every version below a committed one is there, so once seen, n
stays. A handler loads a stream, decides and appends at the version it loaded; with its store's
knowledge that append is one plain insert. Only a version this store has not seen is probed.
"""

from __future__ import annotations


class KnownVersions:
    """The highest committed version seen per stream, for the ``size`` streams used last."""

    def __init__(self, size: int = 16_384) -> None:
        self.size = size
        self._versions: dict[str, int] = {}

    def saw(self, stream_id: str, version: int) -> None:
        """Version ``version`` of the stream is committed (appended standalone, or read outside a
        caller's transaction, which reads only what is committed)."""
        if self.size <= 0 or version <= 0:  # (version 0, no stream, is known without asking)
            return
        versions = self._versions
        # Moved to the end on each sighting: the dict's order is then least recently seen first.
        known = versions.pop(stream_id, 0)
        versions[stream_id] = known if known > version else version
        if len(versions) > self.size:
            del versions[next(iter(versions))]

    def has(self, stream_id: str, version: int) -> bool:
        """Whether version ``version`` of the stream is known to be committed."""
        return self._versions.get(stream_id, 0) >= version

    def forget(self) -> None:
        """Know nothing (after the schema changed under the store)."""
        self._versions.clear()
