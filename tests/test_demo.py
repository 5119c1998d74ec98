"""`e2elab demo --quick` end to end on the built-in offline data (slow: minutes on 2 cores)."""

from __future__ import annotations

import json

import pytest

from e2elab.cli import main


@pytest.mark.slow
def test_quick_demo_writes_a_full_report(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("E2ELAB_DATA_DIR", raising=False)
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    page = (out / "report.html").read_text()
    for section in ("pipelines", "comparison", "curves", "confusions", "explanations", "training", "reproduce"):
        assert f'id="{section}"' in page
    assert "Nothing of this kind" not in page
    run = json.loads((out / "run.json").read_text())
    assert set(run["findings"]) == {"speech", "image"}
    for task in ("speech", "image"):
        results = json.loads((out / task / "compare" / "results.json").read_text())
        assert set(results["pipelines"]) == {"end-to-end", "traditional"}
    assert "report:" in capsys.readouterr().out
