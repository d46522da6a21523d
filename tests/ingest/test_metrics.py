"""Metrics: Prometheus text rendering, read back by the parser soc status uses."""

from __future__ import annotations

import pytest

from ingest.metrics import Metrics, parse_text


def test_render_and_parse_round_trip() -> None:
    metrics = Metrics()
    metrics.declare("soc_x_total", "counter", "Things.")
    metrics.declare("soc_depth", "gauge", "Depth.", lambda: {(): 7.0})
    metrics.inc("soc_x_total", 3, receiver='tcp "a"\\b')
    metrics.inc("soc_x_total", receiver='tcp "a"\\b')
    metrics.inc("soc_x_total", 2.5, receiver="udp")
    text = metrics.render()
    assert "# TYPE soc_x_total counter" in text and "# TYPE soc_depth gauge" in text
    assert 'soc_x_total{receiver="tcp \\"a\\"\\\\b"} 4' in text
    parsed = parse_text(text)
    assert parsed["soc_x_total"] == {(("receiver", 'tcp "a"\\b'),): 4.0, (("receiver", "udp"),): 2.5}
    assert parsed["soc_depth"] == {(): 7.0}
    assert metrics.value("soc_x_total", receiver="udp") == 2.5


def test_bad_names_and_bad_text_are_refused() -> None:
    with pytest.raises(ValueError, match="invalid metric name"):
        Metrics().declare("bad-name", "counter", "x")
    with pytest.raises(ValueError, match="not a Prometheus sample"):
        parse_text("soc_x_total{receiver=\"a\"}\n")
