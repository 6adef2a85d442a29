"""scripts/bench_locomo.py end to end on a tiny LoCoMo-shaped file: it starts its own
Redis and server, ingests through HTTP and scores what the search route returns."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import bench_locomo  # noqa: E402

DATA = [{
    "sample_id": "tiny",
    "conversation": {
        "speaker_a": "Ann", "speaker_b": "Bo",
        "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": [
            {"speaker": "Ann", "dia_id": "D1:1", "text": "I adopted a greyhound called Pixel."},
            {"speaker": "Bo", "dia_id": "D1:2", "text": "Lovely! What colour is Pixel?"},
            {"speaker": "Ann", "dia_id": "D1:3", "text": "Brindle, with one white paw.",
             "blip_caption": "a photo of a dog on a sofa"},
        ],
        "session_2_date_time": "10:00 am on 9 June, 2023",
        "session_2": [
            {"speaker": "Bo", "dia_id": "D2:1", "text": "I finished the marathon in Porto."},
            {"speaker": "Ann", "dia_id": "D2:2", "text": "Congratulations on the marathon!"},
        ],
    },
    "qa": [
        {"question": "What breed of dog did Ann adopt?", "answer": "greyhound",
         "evidence": ["D1:1"], "category": 4},
        {"question": "Where did Bo run a marathon?", "answer": "Porto",
         "evidence": ["D2:1", "D9:99; D1:1"], "category": 1},
        {"question": "Adversarial", "answer": "n/a", "evidence": ["D1:2"], "category": 5},
    ],
}]


def test_bench_ingests_over_http_and_scores_recall(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Both scoreable questions find their evidence; category 5 and malformed ids are
    skipped; latency and throughput lines are printed."""
    data = tmp_path / "tiny.json"
    data.write_text(json.dumps(DATA))
    assert bench_locomo.main(["--data", str(data), "--embedder", "hashing"]) == 0
    out = capsys.readouterr().out
    assert "1 conversations, 5 turns, 2 questions" in out
    assert "recall@10 overall: 1.0000" in out
    assert "category 1 (multi-hop  ): 1.000  (n=1)" in out
    assert "search latency ms: p50" in out and "memories/s" in out


def test_memory_text_and_dates() -> None:
    """A turn is stored as speaker, text, photo caption and session date."""
    turn = DATA[0]["conversation"]["session_1"][2]  # type: ignore[index]
    assert bench_locomo.memory_text(turn, "1:56 pm on 8 May, 2023") == (
        "Ann: Brindle, with one white paw. [shared a photo: a photo of a dog on a sofa]"
        " (1:56 pm on 8 May, 2023)")
    assert bench_locomo.session_date("1:56 pm on 8 May, 2023").isoformat() == \
        "2023-05-08T13:56:00+00:00"
