"""e2elab serve MODEL_OR_RUN...: a local web page and JSON API with the models side by side."""

from __future__ import annotations

import ipaddress
import sys

from ._arg_types import int_at_least, positive_int
from ._common import add_verify_key_argument, verify_key

NAME = "serve"
HELP = "a local web page and JSON API answering with every loaded model side by side (needs e2elab[serve])"
ORDER = 80
EXTRA_HINT = "pip install 'e2elab[serve]'"


def add_arguments(parser):
    parser.add_argument("sources", nargs="+", metavar="MODEL_OR_RUN",
                        help="a model folder (RUN/model), or a run folder of `demo` or `train` (every model in it)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 opens it to the network)")
    parser.add_argument("--port", type=int_at_least(0), default=8000, help="port to listen on (default 8000; 0: any free port)")
    parser.add_argument("--workers", type=positive_int, default=1,
                        help="requests worked on at once (default 1; each runs the models on the CPU or GPU)")
    parser.add_argument("--queue", type=int_at_least(0), default=8,
                        help="requests that may wait for a worker; past that the server answers 503 (default 8)")
    parser.add_argument("--max-upload-mb", type=positive_int, default=20, help="largest request, in MB (default 20)")
    parser.add_argument("--max-seconds", type=positive_int, default=60, help="longest audio clip, in seconds (default 60)")
    add_verify_key_argument(parser)


def run(args) -> int:
    from ..errors import E2elabError

    try:
        import uvicorn

        from ..serve.app import create_app
        from ..serve.limits import Limits
        from ..serve.models import load_models
    except ImportError as err:
        raise E2elabError(f"the web server needs FastAPI, uvicorn and python-multipart ({err}): {EXTRA_HINT}") from None

    models = load_models(args.sources, verify_key=verify_key(args))
    limits = Limits(max_request_bytes=args.max_upload_mb * 2**20, max_audio_seconds=float(args.max_seconds))
    app = create_app(models, limits=limits, workers=args.workers, queue=args.queue)
    for served in models.values():
        print(f"serving {served.name} from {served.folder}")
    if not _loopback(args.host):
        print(f"warning: --host {args.host} makes the page and the API reachable from other machines; anyone who can "
              "reach this port can run the models on their uploads. Use it only on a network you trust.", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface
