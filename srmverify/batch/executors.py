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

from typing import Any, Callable, Iterable, Iterator, Protocol, Sequence

from ..errors import InputError


class Executor(Protocol):
    """What the drivers need: ``map_unordered`` and ``close``; ``workers`` for reports."""

    workers: int

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
            # overhead on the pure-Python parts of a query, and nobody reads it here
            with dask.config.set({"distributed.worker.profile.enabled": False}):
                self._cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                             dashboard_address=None, silence_logs=50)
            self.client = Client(self._cluster)
        else:
            self.client = Client(address, timeout=connect_timeout)
        self.retries = retries
        self.client.run(_warm_up)         # imports paid once per worker, before any task
        self.workers = len(self.client.scheduler_info(n_workers=-1)["workers"]) if address is not None else n_workers

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


def _warm_up() -> None:
    import srmverify.verify.queries  # noqa: F401  (the solver stack every task needs)
    import srmverify.formats.onnx_net  # noqa: F401


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
