"""Solution: the labelled result of one simulation."""

from __future__ import annotations

from marrowsim import Simulation


def test_repr_is_one_short_line():
    sol = Simulation("healthy-adult").run()
    text = repr(sol)
    assert "\n" not in text and len(text) < 200
    assert "healthy-adult" in text and "status='ok'" in text
