"""Reading /metrics as Prometheus does: the text format, parsed by prometheus-client's parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """(sample name, labels) -> value."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict, name: str, **labels: str) -> float:
    """One sample's value; 0 when the series does not exist yet (as a counter that never moved)."""
    return found.get((name, frozenset(labels.items())), 0.0)


def total(found: dict, name: str, **labels: str) -> float:
    """The sum over every series of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, lab), v in found.items() if n == name and wanted <= lab)
