"""The ranker's stems are Snowball's, including the numbers it no longer asks Snowball for."""

from __future__ import annotations

import random

import snowballstemmer

from agent_memory.services.ranking import _stem


def test_numbers_stem_as_snowball_does() -> None:
    """An ASCII number is its own stem, as Snowball's English stemmer says (the shortcut
    in ``_stem`` must never disagree with it); other words still go through Snowball."""
    snowball = snowballstemmer.stemmer("english")
    rng = random.Random(4)
    numbers = [str(i) for i in range(2000)] + [str(rng.randrange(10**15)) for _ in range(500)]
    numbers += ["007", "2024", "1st", "²", "٣"]  # not all ASCII digits: through Snowball
    for word in numbers + ["running", "memories", "flights", "caroline"]:
        assert _stem(word) == snowball.stemWord(word), word
    assert _stem("running") == "run"
