"""What every bench shares: it checks that the work it timed is the work it names, and reports
figures as min / median / max over its runs (timings on a shared machine are noisy).

A failed check ends the bench with exit status 1 and one line saying what was not as claimed, so a
figure printed by a bench that exited 0 measured what it says.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Sequence


class BenchCheckFailed(SystemExit):
    def __init__(self, message: str) -> None:
        super().__init__(1)
        self.message = message


def require(condition: bool, message: str) -> None:
    """Stop the bench (exit 1) unless `condition`: the timed work was not what the bench names."""
    if not condition:
        print(f"BENCH CHECK FAILED: {message}", file=sys.stderr, flush=True)
        raise BenchCheckFailed(message)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (p95 of 200 values is the 190th smallest)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(fraction * len(ordered)) - 1))]


def spread(values: Sequence[float], unit: str = "s", digits: int = 2) -> str:
    """'min / median / max' of one figure over the runs, e.g. '1.21 / 1.30 / 1.44 s'."""
    if len(values) == 1:
        return f"{values[0]:.{digits}f} {unit}"
    return (f"{min(values):.{digits}f} / {statistics.median(values):.{digits}f} / "
            f"{max(values):.{digits}f} {unit} (min / median / max of {len(values)})")


def verdict(value: float, target: float, unit: str = "s") -> str:
    return f"target <= {target:g} {unit}: {'met' if value <= target else 'NOT met'}"
