"""A full worker pool answers 503 with Retry-After at once, and serves again once it has room."""

from __future__ import annotations

import threading
import time

import pytest


@pytest.fixture
def one_slot_client(served):
    from fastapi.testclient import TestClient

    from e2elab.serve.app import create_app

    app = create_app(served, workers=1, queue=0)
    with TestClient(app) as test_client:
        yield test_client, app.state.pool


def wait_until(condition, what: str, limit_seconds: float = 30.0):
    """Wait for `condition()` (another thread's progress); fail naming `what` if it never comes."""
    deadline = time.monotonic() + limit_seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting: {what}")
        time.sleep(0.01)


def test_a_full_pool_answers_503_with_retry_after_and_serves_again(one_slot_client, served, digit_png, monkeypatch):
    client, pool = one_slot_client
    model = served["image-traditional"].model
    release = threading.Event()
    answer_details = model.predict_details

    def held_details(X):
        release.wait()
        return answer_details(X)

    monkeypatch.setattr(model, "predict_details", held_details)
    png, _ = digit_png
    first = {}
    worker = threading.Thread(target=lambda: first.update(response=client.post(
        "/predict", files={"file": ("digit.png", png)}, data={"models": "image-traditional"})))
    worker.start()
    # Without a bound the second request would wait for the first: release it in the end anyway, so
    # that such a server fails this test instead of hanging it.
    safety = threading.Timer(30.0, release.set)
    safety.start()
    try:
        wait_until(lambda: pool.admitted == 1, "the first request to reach the pool")
        busy = client.post("/predict", files={"file": ("digit.png", png)}, data={"models": "image-traditional"})
        assert busy.status_code == 503
        assert busy.headers["Retry-After"] == "1"
        assert busy.json()["error"]["code"] == "busy"
        assert client.get("/health").json()["busy"] == 1  # the server itself still answers
    finally:
        release.set()
        safety.cancel()
        worker.join()
    assert first["response"].status_code == 200
    wait_until(lambda: pool.admitted == 0, "the pool to free its slot")
    again = client.post("/predict", files={"file": ("digit.png", png)}, data={"models": "image-traditional"})
    assert again.status_code == 200


def test_a_pool_needs_a_worker():
    from e2elab.serve.pool import WorkerPool

    with pytest.raises(ValueError, match="at least one worker"):
        WorkerPool(workers=0)
