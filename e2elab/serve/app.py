"""The FastAPI app of ``e2elab serve``: the page, and a JSON API over the loaded models.

``GET /health``, ``GET /models``, ``POST /predict`` (one or many files, or a sentence),
``POST /explain`` and ``POST /stages`` (one input, one model); the OpenAPI description at
``/openapi.json``, read at ``/docs`` (a page with no external assets, unlike FastAPI's). Every error is
``{"error": {"code", "message"}}`` (:mod:`.errors`); every limit is in :class:`.limits.Limits`;
model work runs on a bounded pool (:mod:`.pool`), so a burst is answered with 503s, not a hang.
"""

from __future__ import annotations

import tempfile
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from ..tasks import tasks
from ..version import __version__
from .answers import explain_answer, predict_answer, stages_answer
from .errors import ApiError, install_error_handlers
from .limits import Limits, RequestSizeLimit
from .models import ServedModel
from .pool import WorkerPool
from .uploads import Input, ParsedRequest, read_request

STATIC = Path(__file__).parent / "static"
_INPUT_WORDS = {"image": "an image", "audio": "an audio clip", "text": "a sentence"}


def _body(fields: dict[str, str], one_input: bool) -> dict:
    """The OpenAPI description of a request body the endpoint reads itself (a form or JSON; a
    URL-encoded form, having no files, takes the fields JSON does)."""
    files = ("one image or audio file" if one_input else "one or more image or audio files (repeat the field)")
    form = {"file": {"type": "string", "format": "binary", "description": files},
            "text": {"type": "string", "description": "a sentence, for translation models"},
            **{name: {"type": "string", "description": text} for name, text in fields.items()}}
    json_body = {"text": {"type": "string"}, **{name: {"type": "string"} for name in fields}}
    return {"requestBody": {"required": True, "content": {
        "multipart/form-data": {"schema": {"type": "object", "properties": form}},
        "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": json_body}},
        "application/json": {"schema": {"type": "object", "properties": json_body}}}}}


def create_app(models: dict[str, ServedModel], limits: Limits | None = None, workers: int = 1, queue: int = 8) -> FastAPI:
    """The app serving `models` (see :func:`e2elab.serve.models.load_models`) under `limits`, with
    `workers` threads for model work and room for `queue` requests waiting for one."""
    limits = limits or Limits()
    pool = WorkerPool(workers, queue)
    # File kinds a task reads; a task whose inputs are typed in (translation) takes the `text` field.
    file_kinds = tuple(dict.fromkeys(task.item_kind for task in tasks() if task.inputs is None))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        pool.shutdown()

    # FastAPI's Swagger and ReDoc pages load their scripts from a CDN; /docs is served below instead.
    app = FastAPI(title="e2elab", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Both pipelines of every loaded task side by side: answers, explanations, stages.")
    app.state.models, app.state.limits, app.state.pool = models, limits, pool
    install_error_handlers(app)
    app.add_middleware(RequestSizeLimit, max_bytes=limits.max_request_bytes)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    def chosen(requested: list[str]) -> list[ServedModel]:
        unknown = [name for name in requested if name not in models]
        if unknown:
            raise ApiError(400, "unknown_model", f"no model named {', '.join(map(repr, unknown))}; "
                                                 f"loaded: {', '.join(models) or 'none'}")
        return [models[name] for name in requested] if requested else list(models.values())

    def readers(inp: Input, candidates: list[ServedModel], asked: bool) -> list[ServedModel]:
        """The models among `candidates` that read `inp`; an input none of them reads is refused."""
        found = [served for served in candidates if served.task.item_kind == inp.kind]
        if not found:
            among = "the models asked for" if asked else "the loaded models"
            loaded = ", ".join(f"{s.name} reads {s.task.item_kind}" for s in candidates)
            raise ApiError(422, "no_model_for_input", f"{inp.name} is {_INPUT_WORDS.get(inp.kind, 'a ' + inp.kind)}, "
                                                      f"but none of {among} reads one ({loaded})")
        return found

    async def one_model_request(request: Request, folder: Path) -> tuple[ParsedRequest, Input, ServedModel]:
        parsed = await read_request(request, folder, limits, file_kinds)
        if len(parsed.inputs) != 1:
            raise ApiError(400, "one_input_only", f"this endpoint takes one input, got {len(parsed.inputs)}")
        name = parsed.field("model")
        if not name:
            raise ApiError(400, "missing_model", f"name the model in the 'model' field; loaded: {', '.join(models)}")
        served = readers(parsed.inputs[0], chosen([name]), asked=True)[0]
        return parsed, parsed.inputs[0], served

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC / "index.html")

    @app.get("/docs", include_in_schema=False)
    async def api_docs():
        return FileResponse(STATIC / "docs.html")

    @app.get("/health", summary="Whether the server answers, and how busy it is")
    async def health():
        return {"status": "ok", "version": __version__, "models": len(models), "busy": pool.admitted,
                "capacity": pool.capacity}

    @app.get("/models", summary="The loaded models: task, kind, classes or alphabet, training data, metric, stages")
    async def list_models():
        return {"models": [served.describe() for served in models.values()]}

    @app.post("/predict", summary="Every chosen model's answer for each file (or sentence)",
              openapi_extra=_body({"models": "model names, comma-separated (default: every model of the input's task)"},
                                  one_input=False))
    async def predict(request: Request):
        with tempfile.TemporaryDirectory(prefix="e2elab-serve-") as folder:
            parsed = await read_request(request, Path(folder), limits, file_kinds)
            asked = parsed.names("models")
            candidates = chosen(asked)
            plan = [(inp, readers(inp, candidates, bool(asked))) for inp in parsed.inputs]

            def work():
                results = []
                for inp, servers in plan:
                    item = inp.decode(limits)
                    results.append({"input": inp.name, "kind": inp.kind,
                                    "answers": [predict_answer(served, item) for served in servers]})
                return results

            return {"results": await pool.run(work)}

    @app.post("/explain", summary="Why one model answered what it did for one input: a map and its trust scores",
              openapi_extra=_body({"model": "the model to explain (required)",
                                   "method": "an `e2elab explain` method (default: the pipeline's own list)"},
                                  one_input=True))
    async def explain(request: Request):
        with tempfile.TemporaryDirectory(prefix="e2elab-serve-") as folder:
            parsed, inp, served = await one_model_request(request, Path(folder))
            method = parsed.field("method") or None
            out = Path(folder) / "explanations"
            answer = await pool.run(lambda: explain_answer(served, inp.decode(limits), method, out))
            return {"input": inp.name, **answer}

    @app.post("/stages", summary="One model's stages with their outputs for one input, drawn as in the report",
              openapi_extra=_body({"model": "the model whose stages to draw (required)"}, one_input=True))
    async def stages(request: Request):
        with tempfile.TemporaryDirectory(prefix="e2elab-serve-") as folder:
            _, inp, served = await one_model_request(request, Path(folder))
            answer = await pool.run(lambda: stages_answer(served, inp.decode(limits)))
            return {"input": inp.name, **answer}

    return app
