"""Running mean and variance (Welford's method), shared by the web profiles' value lengths
and the entity baselines: one pass, constant memory, numerically stable."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class Stats:
    """Running mean and variance (Welford)."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def add(self, x: float) -> None:
        self.n += 1
        delta = x - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (x - self.mean)

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / self.n) if self.n > 1 else 0.0

    def to_json(self) -> list[float]:
        return [self.n, self.mean, self.m2]

    @classmethod
    def from_json(cls, data: list[float]) -> Stats:
        return cls(int(data[0]), float(data[1]), float(data[2]))
