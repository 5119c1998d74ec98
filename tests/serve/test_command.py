"""`e2elab serve`: models loaded before the server starts, loopback by default, a warning otherwise."""

from __future__ import annotations

import pytest

from e2elab.cli import main


@pytest.fixture
def started(monkeypatch):
    """What uvicorn was asked to serve, instead of serving it."""
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append((app, options)))
    return calls


def test_serve_binds_to_loopback_by_default_and_loads_every_model(run_folder, started, capsys):
    assert main(["serve", str(run_folder), "--port", "8123"]) == 0
    (app, options), = started
    assert options["host"] == "127.0.0.1" and options["port"] == 8123
    assert len(app.state.models) == 4
    assert "warning" not in capsys.readouterr().err


def test_serve_on_every_interface_warns(run_folder, started, capsys):
    assert main(["serve", str(run_folder / "image" / "models" / "traditional" / "model"), "--host", "0.0.0.0"]) == 0
    assert "warning: --host 0.0.0.0" in capsys.readouterr().err


def test_serve_without_models_fails_before_starting(tmp_path, started, capsys):
    assert main(["serve", str(tmp_path / "missing")]) == 1
    assert "no such model or run folder" in capsys.readouterr().err
    assert not started
