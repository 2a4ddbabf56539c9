"""Exact counting of the linear regions of SNNs (causal patterns) and ReLU networks.

:func:`count_regions` is the entry point: a box, a 2-D slice or a segment (:class:`Domain`), one
of the engines ``traverse`` (region-adjacency traversal with HiGHS LPs; on a segment of a
positive-weight SNN the kinetic walk), ``refine`` (SNNs of any signs on a segment or 2-D slice:
polygon refinement, :mod:`.refine2d`; on a box or slice of 3 to 6 dimensions: polytope
refinement, :mod:`.refine_poly`), ``z3`` (all-SAT, exact) or ``milp`` (no-good cuts), and the
known theoretical count next to the measured one; for SNNs also the number of causal pieces
(backward-masked causal patterns, :mod:`.pieces`).
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..network import ReLUNet, SNN
from ..results import Progress, no_progress
from .enumerate import enumerate_patterns
from .lines_slices import count_line, count_slice, sample_line, walk_line
from .polyhedron import Cell, Domain, cell_at, pattern_bits
from .pieces import count_causal_pieces, masked_patterns
from .refine2d import refine
from .refine_poly import MAX_DIM, refine_nd
from .result import Region, RegionsResult
from .theory import theory_for
from .traverse import traverse

ENGINES = ("auto", "traverse", "refine", "z3", "milp")


def auto_engine(net: SNN | ReLUNet, domain: Domain) -> str:
    """The engine ``auto`` stands for: ``refine`` for an SNN on a domain of dimension 2 to
    :data:`.refine_poly.MAX_DIM`, else ``traverse``.

    >>> auto_engine(SNN.layered([[[1.0, 1.0, 1.0]]], [[1.0]]), Domain.box([[0, 1]] * 3))
    'refine'
    """
    return "refine" if isinstance(net, SNN) and 2 <= domain.dim <= MAX_DIM else "traverse"


def count_regions(net: SNN | ReLUNet, domain: Domain, engine: str = "auto", *,
                  max_regions: int | None = None, timeout: float | None = None,
                  compare_relu: ReLUNet | None = None, samples: int = 0, graph: bool = False,
                  progress: Progress = no_progress) -> RegionsResult:
    """Count the full-dimensional regions of ``net`` on ``domain``.

    ``compare_relu`` counts that ReLU network on the same domain with the same engine (stored in
    ``result.compare``); ``samples > 0`` on a segment also runs the ``samples``-point sampling
    estimate (``result.stats["sampled"]``). The theory for the architecture is attached when the
    domain is the whole input box. ``graph``: the refinement of a domain of dimension 3 to 6
    builds the region adjacency graph (``result.graph``) only when asked (its linear regions
    need the adjacency of the pieces whose output map is shared, only); the other engines always
    do.

    Examples
    --------
    >>> net = SNN.layered([[[1.0, 2.0, 3.0]]], [[1.0]])
    >>> r = count_regions(net, Domain.box(np.array([[0.0, 10.0]] * 3)))
    >>> r.causal_regions, r.theory["value"], r.complete
    (7, 7, True)
    """
    if engine not in ENGINES:
        raise InputError("regions", "engine", engine, f"choose one of {', '.join(ENGINES)}")
    domain.check(net.n_inputs)
    if engine == "auto":
        engine = auto_engine(net, domain)
    if engine == "traverse":
        if domain.dim == 1:
            res = count_line(net, domain.c, domain.c + domain.M[:, 0], max_regions=max_regions,
                             timeout=timeout, progress=progress)
        else:
            res = traverse(net, domain, max_regions=max_regions, timeout=timeout, progress=progress)
    elif engine == "refine":
        if not isinstance(net, SNN) or domain.dim > MAX_DIM:
            raise InputError("<command line>", "--engine", engine,
                             f"refinement needs an SNN on a --line, a --slice or a box of at most {MAX_DIM} "
                             "inputs (use traverse)")
        if domain.dim <= 2:
            res = refine(net, domain, max_regions=max_regions, timeout=timeout, progress=progress)
        else:
            res = refine_nd(net, domain, adjacency=graph, max_regions=max_regions, timeout=timeout,
                            progress=progress)
    else:
        res = enumerate_patterns(net, domain, engine, max_regions=max_regions, timeout=timeout, progress=progress)
    if isinstance(net, SNN) and res.causal_pieces is None and (res.regions or res.causal_regions == 0):  # the walk lists none
        res.causal_pieces = count_causal_pieces(net, [r.pattern for r in res.regions])
    if domain.is_input_box:
        res.theory = theory_for(net)
    if samples > 0 and domain.dim == 1:
        n, _ = sample_line(net, domain.c, domain.c + domain.M[:, 0], samples)
        res.stats["sampled"] = {"points": samples, "regions_seen": n}
    if compare_relu is not None:
        if compare_relu.n_inputs != net.n_inputs:
            raise InputError(compare_relu.source, "inputs", compare_relu.n_inputs,
                             f"the compared ReLU network must have {net.n_inputs} inputs")
        res.compare = count_regions(compare_relu, domain, "traverse" if engine == "refine" else engine, max_regions=max_regions, timeout=timeout,
                                    samples=samples, graph=graph, progress=progress)
    return res


__all__ = ["count_regions", "auto_engine", "traverse", "refine", "refine_nd", "count_causal_pieces", "masked_patterns", "enumerate_patterns", "count_line", "count_slice", "walk_line",
           "sample_line", "Domain", "Cell", "cell_at", "pattern_bits", "Region", "RegionsResult", "theory_for",
           "ENGINES"]
