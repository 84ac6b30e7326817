"""What every benchmark shares: the result record, timing, medians, the printed table."""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass


@dataclass
class Result:
    """One figure measured side by side: Loa, the raw ceiling, the peer (None when not measured)."""

    name: str
    unit: str
    loa: float
    raw: float | None = None
    peer: float | None = None
    note: str = ""

    def record(self) -> dict:
        out = asdict(self)
        out["loa_over_raw"] = round(self.loa / self.raw, 3) if self.raw else None
        out["loa_over_peer"] = round(self.loa / self.peer, 3) if self.peer else None
        return out


def median(values: list[float]) -> float:
    return statistics.median(values)


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.start


def table(results: list[Result]) -> str:
    head = f"{'benchmark':44} {'unit':10} {'loa':>10} {'raw':>10} {'peer':>10} {'loa/raw':>8} {'loa/peer':>8}"
    lines = [head, "-" * len(head)]

    def fmt(v):
        if v is None:
            return f"{'-':>10}"
        return f"{v:>10,.2f}" if v < 100 else f"{v:>10,.0f}"

    def ratio(a, b):
        return f"{a / b:>8.2f}" if b else f"{'-':>8}"

    for r in results:
        lines.append(
            f"{r.name:44} {r.unit:10} {fmt(r.loa)} {fmt(r.raw)} {fmt(r.peer)} "
            f"{ratio(r.loa, r.raw)} {ratio(r.loa, r.peer)}"
        )
    return "\n".join(lines)
