"""`score` decides the per-expression path from the protocol declarations and the dataset registry, without
importing the per-expression scorer; the decision equals the one made from the scorer's own drivers
(`expression_drivers.DRIVERS`: which native readers and protocols it scores)."""

from __future__ import annotations

from lvsbench.core.registry import import_target
from lvsbench.datasets.registry import DATASETS
from lvsbench.protocols import PER_EXPRESSION, PROTOCOLS
from lvsbench.scoring.evaluate import PER_EXPRESSION_DATASETS, per_expression_protocol
from lvsbench.scoring.expression_drivers import DRIVERS


def test_routing_equals_the_drivers() -> None:
    assert PER_EXPRESSION_DATASETS == set(DRIVERS)
    readers = tuple(d.reader for d in DRIVERS.values())
    routed = []
    for name in DATASETS:
        cls = import_target(DATASETS[name].loader, name)
        dataset = cls.__new__(cls)  # only its type matters
        assert per_expression_protocol(dataset, None) == issubclass(cls, readers), name
        sub = type("Sub", (cls,), {})  # a user's subclass of a reader is routed as the reader
        assert per_expression_protocol(sub.__new__(sub), None) == issubclass(cls, readers), name
        routed += [name] if issubclass(cls, readers) else []
    assert sorted(routed) == sorted(DRIVERS)
    for name, proto in PROTOCOLS.items():
        expected = name in PER_EXPRESSION and PER_EXPRESSION[name].dataset in DRIVERS
        assert per_expression_protocol(None, name) == expected == per_expression_protocol(None, proto), name
