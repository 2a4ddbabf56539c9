"""A picture of a 2-D partition: every cell filled (one colour per linear region, shades per
causal region), boundaries drawn, discontinuities in red. Needs matplotlib (extra ``plot``)."""
from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np

from ..errors import InputError
from ..formats.files import atomic_path, check_output_path
from ..network import ReLUNet, SNN
from .polyhedron import Domain, cell_at
from .result import RegionsResult


def clip_polygon(A: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Vertices of ``{A y <= b} ∩ [lo, hi]`` in 2-D (Sutherland-Hodgman clipping of the box).

    >>> clip_polygon(np.array([[1.0, 1.0]]), np.array([1.0]), np.zeros(2), np.ones(2)).round(6).tolist()
    [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]
    """
    poly = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]], dtype=float)
    for a, c in zip(A, b):
        if len(poly) == 0:
            break
        val = poly @ a - c
        out = []
        for k in range(len(poly)):
            p, q, vp, vq = poly[k], poly[(k + 1) % len(poly)], val[k], val[(k + 1) % len(poly)]
            if vp <= 0:
                out.append(p)
            if (vp < 0 < vq) or (vq < 0 < vp):
                out.append(p + (q - p) * vp / (vp - vq))
        poly = np.array(out)
    if len(poly):
        keep = np.concatenate([[True], np.linalg.norm(np.diff(poly, axis=0), axis=1) > 1e-12])
        poly = poly[keep]
    return poly


def plot_partition(net: SNN | ReLUNet, domain: Domain, result: RegionsResult, path: str | Path,
                   title: str | None = None) -> None:
    """Draw the cells of a traversal on a 2-D domain into ``path`` (png, pdf, svg...)."""
    if domain.dim != 2:
        raise InputError("plot", "domain", f"{domain.dim}-D", "a plot needs a 2-D domain (a 2-input box or a slice)")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Polygon
    except ImportError:
        raise InputError("plot", "matplotlib", "not installed", "pip install 'srmverify[plot]'") from None
    linear = {}
    if result.graph is not None:
        same = nx.Graph()
        same.add_nodes_from(result.graph.nodes)
        same.add_edges_from((u, v) for u, v, s in result.graph.edges(data="same_map") if s)
        for k, comp in enumerate(nx.connected_components(same)):
            for node in comp:
                linear[node] = k
    cmap = plt.get_cmap("tab20")
    fig, ax = plt.subplots(figsize=(6, 6))
    rng = np.random.default_rng(0)
    for idx, reg in enumerate(result.regions):
        if result.polygons is not None:
            poly = result.polygons[idx]
        else:
            y = np.linalg.lstsq(domain.M, np.asarray(reg.point) - domain.c, rcond=None)[0]
            cell = cell_at(net, domain, y)
            poly = clip_polygon(cell.A, cell.b, domain.lo, domain.hi)
        if len(poly) < 3:
            continue
        base = np.array(cmap(linear.get(idx, idx) % 20))
        shade = np.clip(base[:3] * (0.85 + 0.3 * rng.random()), 0, 1)
        ax.add_patch(Polygon(poly, closed=True, facecolor=shade, edgecolor="black", linewidth=0.4))
    ax.set_xlim(domain.lo[0], domain.hi[0])
    ax.set_ylim(domain.lo[1], domain.hi[1])
    ax.set_aspect("auto")
    ax.set_xlabel("y0" if not np.array_equal(domain.M, np.eye(2)) else "x0")
    ax.set_ylabel("y1" if not np.array_equal(domain.M, np.eye(2)) else "x1")
    lin = "" if result.linear_regions is None else f", {result.linear_regions} linear"
    ax.set_title(title or f"{result.causal_regions} causal regions{lin}")
    fig.tight_layout()
    try:
        with atomic_path(path, "--plot") as tmp:        # the format comes from the real name, not tmp's
            fig.savefig(tmp, dpi=150, format=Path(path).suffix.lstrip(".").lower() or "png")
    finally:
        plt.close(fig)


def check_plot_path(path: str | Path) -> Path:
    """Refuse a ``--plot`` file that cannot be written or whose image format matplotlib lacks,
    before any work starts (needs matplotlib)."""
    p = check_output_path(path, "--plot")
    try:
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise InputError("plot", "matplotlib", "not installed", "pip install 'srmverify[plot]'") from None
    kinds = FigureCanvasBase.get_supported_filetypes()
    fmt = p.suffix.lstrip(".").lower() or "png"
    if fmt not in kinds:
        raise InputError(str(p), "--plot", p.suffix, f"unsupported image format; use one of {', '.join(sorted(kinds))}")
    return p
