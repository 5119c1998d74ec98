"""Where the cells of an experiment grid run: local processes, a Dask cluster or a Ray cluster.

Each backend gives :func:`e2elab.experiments.grid.run_grid` a runner that sends every cell out as
one task and hands the results back as they finish, so the grid's main process alone writes the
cell files (workers need no shared file system) and an interrupted grid resumes from the cells on
disk.

- ``local`` (joblib's loky processes; ``threading`` and ``sequential`` for tests and debugging);
- ``dask``: the scheduler at `address` (``tcp://host:8786``), else the client already running in
  this process, else a local cluster started for the grid;
- ``ray``: the cluster at `address` (``host:6379``, or ``ray://host:10001`` for Ray Client), else
  the instance already running in this process, else a local one started for the grid.

dask.distributed and ray are imported only when asked for (the `distributed` extra). A cluster
address that does not answer is a ParameterError within `CONNECT_TIMEOUT` seconds, rather than a
hang or a library's retry loop.
"""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

from ..errors import ParameterError

# Backends that run on this machine, by the name the command line uses, to joblib's name.
LOCAL_BACKENDS = {"local": "loky", "loky": "loky", "threading": "threading", "sequential": "sequential"}
CLUSTER_BACKENDS = ("dask", "ray")
BACKENDS = tuple(LOCAL_BACKENDS) + CLUSTER_BACKENDS
CONNECT_TIMEOUT = 10.0  # seconds to wait for a cluster's scheduler to answer
EXTRA_HINT = "pip install 'e2elab[distributed]'"


@dataclass(frozen=True)
class GridBackend:
    """A backend by name, with the address of its cluster (None: this machine, or one already connected)."""

    name: str = "local"
    address: str | None = None

    def __post_init__(self):
        if self.name not in BACKENDS:
            raise ValueError(f"unknown backend {self.name!r}; expected one of {', '.join(BACKENDS)}")

    @classmethod
    def of(cls, backend: "str | GridBackend") -> "GridBackend":
        """`backend` as a GridBackend, checked: an address only goes with a cluster backend.

        (The command line builds one from --backend and --address in either order, so the pair is
        checked here rather than when it is made.)
        """
        backend = backend if isinstance(backend, GridBackend) else cls(str(backend))
        if backend.address is not None and backend.name not in CLUSTER_BACKENDS:
            raise ParameterError(f"--address {backend.address} names a cluster, but backend {backend.name!r} runs on "
                                 f"this machine; add --backend {' or --backend '.join(CLUSTER_BACKENDS)}")
        return backend


# A backend's runner: run(function, calls, shared) yields function(*call, *shared) for every call,
# in the order they finish, so that the grid saves each cell the moment it is done.
Runner = Callable[[Callable, list[tuple], tuple], Iterator[Any]]


def grid_backend(backend: "str | GridBackend", jobs: int, timeout: float | None = None) -> contextlib.AbstractContextManager:
    """A context manager yielding the Runner of `backend`, with at most `jobs` calls at once (-1: no limit).

    timeout: seconds a cluster's scheduler has to answer (None: CONNECT_TIMEOUT).
    """
    backend = GridBackend.of(backend)
    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    if backend.name == "dask":
        return dask_backend(jobs, backend.address, timeout)
    if backend.name == "ray":
        return ray_backend(jobs, backend.address, timeout)
    return local_backend(jobs, LOCAL_BACKENDS[backend.name])


def _joblib_runner(jobs: int, joblib_name: str) -> Runner:
    from joblib import Parallel, delayed, parallel_config

    def run(function, calls, shared):
        with parallel_config(backend=joblib_name, n_jobs=jobs):
            yield from Parallel(return_as="generator_unordered")(delayed(function)(*call, *shared) for call in calls)

    return run


@contextlib.contextmanager
def local_backend(jobs: int, joblib_name: str = "loky") -> Iterator[Runner]:
    yield _joblib_runner(jobs, joblib_name)


@contextlib.contextmanager
def dask_backend(jobs: int, address: str | None = None, timeout: float = CONNECT_TIMEOUT) -> Iterator[Runner]:
    """Calls as Dask tasks (through joblib's dask backend). Without `address`: the client this
    process already holds, else a local cluster started for the grid."""
    try:
        from distributed import Client, get_client
    except ImportError:
        raise ImportError(f"the dask backend needs dask.distributed: {EXTRA_HINT}") from None

    client = None
    if address is not None:
        check_answers(address, "Dask scheduler", timeout)
        try:
            client = Client(address, timeout=timeout)
        except (OSError, TimeoutError) as err:
            raise ParameterError(f"--address {address}: cannot connect to the Dask scheduler there ({err})") from None
    else:
        try:
            get_client()
        except ValueError:  # no client yet: a cluster on this machine, for this grid only
            client = Client()
    try:
        yield _joblib_runner(jobs, "dask")
    finally:
        if client is not None:
            client.close()


@contextlib.contextmanager
def ray_backend(jobs: int, address: str | None = None, timeout: float = CONNECT_TIMEOUT) -> Iterator[Runner]:
    """Calls as Ray tasks. Without `address`: the instance this process already runs, else
    ``ray.init()``'s discovery (RAY_ADDRESS, or a local instance started for the grid).

    Ray's joblib backend returns results only once all are done, so an interrupted grid would
    lose every finished cell; the tasks are submitted here directly and collected as they finish.
    """
    try:
        import ray
    except ImportError:
        raise ImportError(f"the ray backend needs ray: {EXTRA_HINT}") from None

    if address is not None:
        check_answers(address, "Ray cluster", timeout)
    started = False
    if not ray.is_initialized():
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        except ConnectionError as err:
            raise ParameterError(f"--address {address}: cannot connect to the Ray cluster there ({err})") from None
        started = True

    def run(function, calls, shared):
        task = ray.remote(function)
        shared_refs = [ray.put(value) for value in shared]  # sent to the cluster once, not once per call
        waiting = [tuple(call) for call in calls]
        limit = jobs if jobs > 0 else len(waiting)
        running: list = []
        try:
            while waiting or running:
                while waiting and len(running) < limit:
                    running.append(task.remote(*waiting.pop(0), *shared_refs))
                done, running = ray.wait(running, num_returns=1)
                yield ray.get(done[0])
        finally:
            for ref in running:  # a failed cell or an interrupt: stop what is still in flight
                ray.cancel(ref)

    try:
        yield run
    finally:
        if started:
            ray.shutdown()


def check_answers(address: str, what: str, timeout: float) -> None:
    """Raise ParameterError unless something accepts a TCP connection at `address` within `timeout` seconds.

    Both libraries retry an unreachable address for a long time (Ray for minutes); this answers at once.
    """
    host, port = host_and_port(address)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as err:
        reason = "no answer" if isinstance(err, TimeoutError) else (err.strerror or str(err))
        raise ParameterError(f"--address {address}: no {what} answers at {host}:{port} within {timeout:g} s "
                             f"({reason}); is the cluster running, and is the address right?") from None


def host_and_port(address: str) -> tuple[str, int]:
    """("10.0.0.5", 8786) from "tcp://10.0.0.5:8786", "ray://10.0.0.5:10001" or "10.0.0.5:6379"."""
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None:
        raise ParameterError(f"--address {address}: expected HOST:PORT, e.g. tcp://10.0.0.5:8786 (Dask) "
                             "or 10.0.0.5:6379 (Ray)")
    return parts.hostname, port
