"""Read a Prometheus text exposition into values a test can compare."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    """Every sample by (name, labels): ``value(s, "consult_cases", status="sent")``."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(found: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0.0 when it is absent (a labelled counter not incremented yet)."""
    return found.get((name, frozenset(labels.items())), 0.0)
