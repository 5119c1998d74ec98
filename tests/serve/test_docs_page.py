"""The API's description offline: ``/openapi.json`` is a valid OpenAPI document, and ``/docs`` is a
page of its own with no external script, style, font or CDN (FastAPI's Swagger and ReDoc pages are
gone) that renders every endpoint with its summary, request body and responses.

The rendering is checked in headless Chromium (skipped, saying why, where Playwright or Chromium is
missing); the browser reaches the app through request interception, so no port is opened, and every
request the page makes is recorded.
"""

from __future__ import annotations

import re
import shutil

import pytest

pytest.importorskip("fastapi")

ORIGIN = "http://127.0.0.1:8000"  # never connected to: the browser's requests are answered by the test client
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
WAIT_MS = 30_000  # a bound on a browser start on a busy machine, never a measured figure


@pytest.fixture(scope="module")
def app_client():
    """The app with no model loaded: its API description does not depend on the models."""
    from fastapi.testclient import TestClient

    from e2elab.serve.app import create_app

    with TestClient(create_app({})) as client:
        yield client


def test_docs_is_one_html_file_that_loads_nothing_from_elsewhere(app_client):
    page = app_client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "http://" not in page.text and "https://" not in page.text
    assert not re.search(r"<script[^>]*\ssrc=", page.text), "the script must be inline"
    assert not re.search(r"<link[^>]*stylesheet", page.text) and "@import" not in page.text and "@font-face" not in page.text
    # The browser is told the same: nothing but this file, and requests to its own origin.
    assert "default-src 'none'" in page.text and "connect-src 'self'" in page.text
    assert 'fetch("/openapi.json")' in page.text


def test_fastapi_swagger_and_redoc_pages_are_not_served(app_client):
    for path in ("/redoc", "/docs/oauth2-redirect"):
        assert app_client.get(path).status_code == 404, path
    assert "swagger" not in app_client.get("/docs").text.lower()


def test_openapi_json_is_a_valid_openapi_document_of_the_endpoints(app_client):
    validator = pytest.importorskip("openapi_spec_validator")
    spec = app_client.get("/openapi.json").json()
    validator.validate(spec)  # raises, naming the fault, on an invalid document
    assert {"/health", "/models", "/predict", "/explain", "/stages"} <= set(spec["paths"])
    assert "/docs" not in spec["paths"] and "/" not in spec["paths"]  # pages, not API
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            assert operation.get("summary"), f"{method.upper()} {path} has no summary for the page to show"


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
    chromium_path = shutil.which("chromium")
    if chromium_path is None:
        pytest.skip("no Chromium on the PATH (apt-get install -y chromium)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def open_docs(browser, app_client, answer_openapi=None):
    """/docs in a fresh page whose requests the test client answers; returns the page, the URLs it
    requested and the console errors it logged (a refused resource shows there)."""
    page = browser.new_page()
    requested, console_errors = [], []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)

    def answer(route):
        url = route.request.url
        requested.append(url)
        if not url.startswith(ORIGIN + "/"):
            route.abort()
            return
        path = url[len(ORIGIN):]
        if path == "/openapi.json" and answer_openapi is not None:
            route.fulfill(**answer_openapi)
            return
        reply = app_client.get(path)
        route.fulfill(status=reply.status_code, headers=dict(reply.headers), body=reply.content)

    page.route("**/*", answer)
    page.goto(f"{ORIGIN}/docs", timeout=WAIT_MS)
    return page, requested, console_errors


def test_docs_page_renders_every_endpoint_from_the_description(browser, app_client):
    page, requested, console_errors = open_docs(browser, app_client)
    page.wait_for_selector("section.operation", timeout=WAIT_MS)
    headings = page.eval_on_selector_all("section.operation h2", "hs => hs.map(h => [h.children[0].textContent, "
                                                                   "h.children[1].textContent])")
    assert {tuple(h) for h in headings} == {("get", "/health"), ("get", "/models"), ("post", "/predict"),
                                           ("post", "/explain"), ("post", "/stages")}
    explain = page.inner_text("#post-explain")
    assert "Why one model answered what it did" in explain and "Request body (required)" in explain
    assert "multipart/form-data" in explain and "application/json" in explain
    fields = {row[0]: row for row in (r.split("\t") for r in page.eval_on_selector_all(
        "#post-explain table:first-of-type tbody tr", "rows => rows.map(r => r.innerText)"))}
    assert {"file", "model", "method"} <= set(fields) and fields["file"][1] == "file"
    assert "the model to explain" in fields["model"][3]
    assert "200 Successful Response" in page.inner_text("#post-predict")
    assert [link.get_attribute("href") for link in page.query_selector_all("nav a")][:2] == ["#get-health", "#get-models"]
    assert requested == [f"{ORIGIN}/docs", f"{ORIGIN}/openapi.json"], "the page asked for more than its description"
    assert console_errors == []
    page.close()


def test_docs_page_says_when_the_description_cannot_be_read(browser, app_client):
    page, _, _ = open_docs(browser, app_client, answer_openapi={"status": 500, "body": "{}"})
    page.wait_for_selector("#summary.error", timeout=WAIT_MS)
    assert "Cannot read the API description" in page.inner_text("#summary")
    assert "HTTP 500" in page.inner_text("#summary")
    assert page.query_selector("section.operation") is None
    page.close()
