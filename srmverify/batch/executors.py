"""Executors: run one function over many items and yield the results as they finish.

* :class:`SerialExecutor` — in this process, in order.
* :class:`DaskExecutor` — on a ``dask.distributed`` cluster: a local one (``n_workers``
  processes, one thread each) or an existing scheduler (``address``, e.g. ``tcp://host:8786``
  started by ``dask scheduler`` with ``dask worker`` processes on any machine). A task whose
  worker dies is re-run by the scheduler on another worker; a task that still fails after
  ``retries`` attempts is handed to ``on_failure`` to build a result, so no item is dropped.

The function runs in long-lived worker processes, so per-process caches (the networks of
:func:`~srmverify.batch.runner.cached_network`) are paid once per worker.
"""
from __future__ import annotations

import ctypes
import os
import sys
from typing import Any, Callable, Iterable, Iterator, Protocol, Sequence

from ..errors import InputError

#: glibc ``mallopt`` parameters M_TRIM_THRESHOLD and M_MMAP_THRESHOLD, and the values a worker
#: restores when its nanny set ``MALLOC_TRIM_THRESHOLD_`` (Dask's default, 65536: it switches off
#: glibc's adaptive thresholds, so every array over 128 KiB became a fresh mmap with page faults;
#: measured 1.45-1.6x the CPU time of the same ACAS Xu instance in process).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_TRIM_BYTES, _MMAP_BYTES = 64 << 20, 32 << 20
#: Worker plugin name of :class:`_WarmUp` on a cluster.
_PLUGIN = "srmverify-warm-up"


class Executor(Protocol):
    """What the drivers need: ``map_unordered`` and ``close``; ``workers`` for reports; ``warm``
    to run a set-up function on every worker (e.g. :func:`~srmverify.batch.runner.warm_up`)."""

    workers: int

    def warm(self, fn: Callable[..., Any], *args: Any) -> None:
        ...

    def map_unordered(self, fn: Callable[[Any], Any], items: Sequence[Any],
                      on_failure: Callable[[Any, BaseException], Any]) -> Iterator[Any]:
        ...

    def close(self) -> None:
        ...


class SerialExecutor:
    """Run items one after the other in this process.

    >>> list(SerialExecutor().map_unordered(lambda x: x * x, [1, 2, 3], lambda x, e: None))
    [1, 4, 9]
    """

    workers = 1

    def warm(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` here (the one "worker")."""
        fn(*args)

    def map_unordered(self, fn: Callable[[Any], Any], items: Iterable[Any],
                      on_failure: Callable[[Any, BaseException], Any]) -> Iterator[Any]:
        for item in items:
            yield fn(item)

    def close(self) -> None:
        pass

    def __enter__(self) -> "SerialExecutor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class DaskExecutor:
    """Run items on a Dask cluster: ``n_workers`` local processes, or the scheduler at ``address``.

    ``retries``: how many times a task that raised (or whose worker was lost more often than the
    scheduler's ``allowed-failures``) is re-submitted before ``on_failure`` builds its result.
    A local cluster must be created under ``if __name__ == "__main__":`` (worker processes
    are spawned); the ``srmverify`` command is such an entry point.
    """

    def __init__(self, n_workers: int | None = None, address: str | None = None, retries: int = 2,
                 connect_timeout: float = 30.0) -> None:
        from distributed import Client, LocalCluster

        if (n_workers is None) == (address is None):
            raise ValueError("give exactly one of n_workers and address")
        self._cluster = None
        if address is None:
            import dask

            # the statistical profiler samples every worker thread's stack every 10 ms: measurable
            # overhead on the pure-Python parts of a query, and nobody reads it here; the nanny's
            # MALLOC_TRIM_THRESHOLD_ is not set at all (see _restore_malloc for remote workers)
            with dask.config.set({"distributed.worker.profile.enabled": False,
                                  "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
                self._cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                             dashboard_address=None, silence_logs=50)
            self.client = Client(self._cluster)
        else:
            self.client = Client(address, timeout=connect_timeout)
        self.retries = retries
        # imports and malloc settings on every worker, also on one that joins or restarts later
        self.client.register_plugin(_WarmUp(), name=_PLUGIN)
        self.workers = len(self.client.scheduler_info(n_workers=-1)["workers"]) if address is not None else n_workers

    def warm(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` once on every current worker and wait (caches filled there stay for
        the tasks; a worker that joins later starts cold)."""
        self.client.run(fn, *args)

    def map_unordered(self, fn: Callable[[Any], Any], items: Sequence[Any],
                      on_failure: Callable[[Any, BaseException], Any]) -> Iterator[Any]:
        from distributed import as_completed

        items = list(items)
        futures = self.client.map(fn, items, pure=False, retries=self.retries)
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for fut in as_completed(futures):
                item = items[index[fut.key]]
                if fut.status == "finished":
                    yield fut.result()
                else:
                    try:
                        exc = fut.exception()
                    except BaseException as e:      # a cancelled future has no exception to fetch
                        exc = e
                    yield on_failure(item, exc)
                fut.release()
        finally:
            self.client.cancel([f for f in futures if not f.done()])

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()

    def __enter__(self) -> "DaskExecutor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _restore_malloc() -> bool:
    """Give glibc back its adaptive allocation thresholds in a process started with
    ``MALLOC_TRIM_THRESHOLD_`` (a Dask nanny's default); ``True`` if it did.

    >>> saved = os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    >>> _restore_malloc()                 # not started that way: nothing to undo
    False
    >>> if saved is not None: os.environ["MALLOC_TRIM_THRESHOLD_"] = saved
    """
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_BYTES)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_BYTES))


def _warm_up() -> None:
    _restore_malloc()
    import srmverify.verify.queries  # noqa: F401  (the solver stack every task needs)
    import srmverify.formats.onnx_net  # noqa: F401


def _worker_plugin_base() -> type:
    try:
        from distributed.diagnostics.plugin import WorkerPlugin
    except ImportError:           # no Dask: only the serial executor is used
        return object
    return WorkerPlugin


class _WarmUp(_worker_plugin_base()):  # type: ignore[misc]
    """Runs :func:`_warm_up` on every worker of the cluster, present and future."""

    def setup(self, worker: Any) -> None:
        _warm_up()


def make_executor(workers: int | None = None, scheduler: str | None = None) -> SerialExecutor | DaskExecutor:
    """``SerialExecutor`` when neither is given, else a :class:`DaskExecutor` (``workers`` local
    processes, or the cluster at ``scheduler``)."""
    if scheduler is not None:
        try:
            return DaskExecutor(address=scheduler)
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError("<command line>", "--scheduler", scheduler, f"cannot connect ({exc})") from None
    if workers is None:
        return SerialExecutor()
    if not 1 <= workers <= 1024:
        raise InputError("<command line>", "--workers", workers, "must be between 1 and 1024")
    return DaskExecutor(n_workers=workers)
