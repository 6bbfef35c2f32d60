"""Connecting to a Dask cluster, and what lives once in each worker: its thread count, its encoder,
the encoders registered by the client.

    client = connect()                        # a local cluster: 2 worker processes on this machine
    client = connect("tcp://scheduler:8786")  # an existing cluster (Kubernetes, a managed service...)

Workers run one task at a time (nthreads=1) and the task itself uses the worker's cores (BLAS, faiss's
OpenMP, the encoder's threads): `worker_threads()`. A local cluster of w workers on c cores gives each
c // w threads; 2 workers on 2 cores, 1 each (two 2-thread workers on 2 cores made numeric code 15x
slower here).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import dask
from distributed import Client, LocalCluster
from distributed.diagnostics.plugin import WorkerPlugin

from ..encoders import Encoder, available_cores, get_encoder
from ..errors import PostkinError
from ..settings import Settings

THREADS_ENV = "POSTKIN_WORKER_THREADS"  # threads of each task on a worker (default: the worker's cores)
# Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536, which also turns off glibc's growing mmap
# threshold: every large numpy temporary is then mapped and zeroed afresh, and the bundled encoder ran
# 1.7x slower in a worker (1,340 post texts on 2 workers: 3.7-5.2 s against 2.1-2.8 s without it).
NO_MALLOC_TRIM = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


def local_cluster(workers: int = 2, threads: int | None = None) -> LocalCluster:
    """A Dask LocalCluster of `workers` processes on this machine, each running one task
    at a time on `threads` threads (default: this process's cores // workers, at least 1)."""
    threads = threads or max(1, available_cores() // max(1, workers))
    env = {THREADS_ENV: str(threads)}
    env.update({name: str(threads) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    with dask.config.set(NO_MALLOC_TRIM):
        # dashboard_address ":0": the scheduler's HTTP server on a free port (":8787" warns when taken)
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                            env=env)


def connect(address: str | None = None, workers: int = 2) -> Client:
    """A dask.distributed Client: to the scheduler at `address` ("tcp://host:8786"), or to a new local
    cluster of `workers` processes (closed by close()). Raises PostkinError when the scheduler cannot
    be reached."""
    if address is None:
        cluster = local_cluster(workers)
        client = Client(cluster, set_as_default=False)
        client._postkin_cluster = cluster  # type: ignore[attr-defined]  # closed by close()
        return client
    try:
        return Client(address, set_as_default=False, timeout="30s")
    except OSError as exc:
        raise PostkinError(f"cannot reach the Dask scheduler at {address} ({exc}); start one (dask scheduler) "
                           "or give the address it prints") from None


def close(client: Client) -> None:
    """Close a client from connect() and the local cluster it started, if any."""
    cluster = getattr(client, "_postkin_cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()


def worker_addresses(client: Client) -> list[str]:
    """The workers' addresses, sorted (the order shards are placed in). Raises PostkinError if none."""
    workers = sorted(client.nthreads())
    if not workers:
        raise PostkinError("the Dask cluster has no workers; start some (dask worker SCHEDULER_ADDRESS)")
    return workers


# ----------------------------------------------------------------------------- inside a worker
def worker_threads() -> int:
    """Threads a task may use in this process: $POSTKIN_WORKER_THREADS, else the cores it may run on."""
    value = os.environ.get(THREADS_ENV, "")
    return int(value) if value.isdigit() and int(value) > 0 else available_cores()


@contextlib.contextmanager
def task_threads() -> Iterator[int]:
    """BLAS limited to worker_threads() inside the block (Dask starts workers with one BLAS thread)."""
    threads = worker_threads()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - installed with the bundled encoder
        yield threads
        return
    with threadpool_limits(threads, user_api="blas"):
        yield threads


_STATE: dict[Any, Any] = {}
_LOCK = threading.Lock()


def worker_state(key: Any, make: Callable[[], Any]) -> Any:
    """The object stored under `key` in this worker process, made by make() the first time."""
    with _LOCK:
        if key not in _STATE:
            _STATE[key] = make()
        return _STATE[key]


def forget_state(match: Callable[[Any], bool]) -> None:
    """Drop this process's stored objects whose key matches."""
    with _LOCK:
        for key in [k for k in _STATE if match(k)]:
            del _STATE[key]


def encoder_key(settings: Settings) -> tuple[str, str, str | None, int]:
    """What makes two workers' encoders the same: name, handle, batch size."""
    return ("encoder", settings.encoder, settings.encoder_handle, settings.batch_size)


def worker_encoder(settings: Settings) -> Encoder:
    """This worker's encoder for `settings`, made (and its model loaded, on first use) once per process,
    with worker_threads() threads."""
    return worker_state(encoder_key(settings),
                        lambda: get_encoder(dataclasses.replace(settings, threads=worker_threads())))


class EncoderPlugin(WorkerPlugin):
    """A Dask worker plugin that registers an encoder factory under a name in every worker, including
    workers that join later (an encoder registered only in the client process is unknown to them)."""

    def __init__(self, name: str, factory: Callable[[Settings], Encoder]) -> None:
        self.name, self.factory = name, factory

    def setup(self, worker: Any = None) -> None:
        from .. import encoders

        encoders._load_builtin()
        encoders.register(self.name)(self.factory)
        forget_state(lambda key: isinstance(key, tuple) and key[:2] == ("encoder", self.name))


def register_encoder(client: Client, name: str, factory: Callable[[Settings], Encoder]) -> None:
    """Register `factory` (settings -> Encoder; pickled with cloudpickle, so a class defined in a test
    or a notebook works if its module can be imported by the workers, or is pickled by value) as
    encoder `name` in every worker of the client's cluster, now and as workers join."""
    client.register_plugin(EncoderPlugin(name, factory), name=f"postkin-encoder-{name}")
