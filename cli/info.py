"""``srmverify info NET``."""
from __future__ import annotations

from pathlib import Path

import typer

from srmverify.formats import load_network
from srmverify.network.describe import describe
from srmverify.results import EXIT_OK

from .render import JsonOpt, emit_json, out


def info_cmd(
    net: Path = typer.Argument(..., help="Network file (.json SNN/ReLU, .onnx ReLU)."),
    as_json: JsonOpt = False,
) -> int:
    """Kind, sizes, weight signs and whether every neuron is guaranteed to fire."""
    d = describe(load_network(net))
    if as_json:
        emit_json(d)
    else:
        for k, v in d.items():
            out.print(f"{k:>20}: {v}")
    return EXIT_OK


def register(app: typer.Typer) -> None:
    app.command("info")(info_cmd)
