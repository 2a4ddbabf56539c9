"""Many verification instances at once: VNN-COMP ``instances.csv`` lists, a per-instance runner
(:func:`run_instance`), a streaming driver (:func:`run_batch`) and the executors that carry them
(:class:`SerialExecutor`, :class:`DaskExecutor` for a local or remote ``dask.distributed``
cluster)."""
from .driver import BatchSummary, read_results, run_batch
from .executors import DaskExecutor, Executor, SerialExecutor, make_executor
from .instances import Instance, parse_instances, read_instances
from .dataset import CertifiedAccuracy, SampleResult, certified_accuracy
from .runner import InstanceResult, cached_network, cached_property, run_instance, warm_up

__all__ = ["BatchSummary", "CertifiedAccuracy", "SampleResult", "certified_accuracy", "DaskExecutor", "Executor", "Instance", "InstanceResult", "SerialExecutor",
           "cached_network", "cached_property", "make_executor", "parse_instances", "read_instances", "read_results", "run_batch",
           "run_instance", "warm_up"]
