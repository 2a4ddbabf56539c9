"""Versions of srmverify and of the libraries it runs on, read from the installed package
metadata (:mod:`importlib.metadata`): nothing is imported, so it is cheap (``srmverify info``)
and still answers when a library is broken.

>>> v = versions()
>>> v["srmverify"] == __version__, set(LIBRARIES) <= set(v["libraries"])
(True, True)
"""
from __future__ import annotations

import sys
from importlib import metadata
from typing import Any

from . import __version__

#: distribution name -> what srmverify uses it for (``pyproject.toml`` dependencies)
LIBRARIES = {
    "numpy": "arrays",
    "highspy": "HiGHS: MILP / LP solver (engine highs, the default)",
    "pulp": "CBC and HiGHS through PuLP (engines cbc, highs-pulp)",
    "z3-solver": "z3: exact SMT (engine z3)",
    "networkx": "graphs (NIR, regions)",
    "onnx": "ONNX networks",
    "nir": "NIR spiking networks",
    "numba": "compiled simulation kernel",
    "dask": "distributed batches",
    "typer": "command line",
    "rich": "progress bars",
}


def versions() -> dict[str, Any]:
    """``{"srmverify": version, "python": version, "libraries": {name: version or None}}``
    (``None``: not installed)."""
    found: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return {"srmverify": __version__, "python": sys.version.split()[0], "libraries": found}
