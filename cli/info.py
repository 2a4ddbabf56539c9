"""``srmverify info NET``."""
from __future__ import annotations

from pathlib import Path

import typer

from srmverify.formats import load_network
from srmverify.network.describe import describe

from .render import emit_json, out


def info_cmd(
    net: Path = typer.Argument(..., help="Network file (.json SNN/ReLU, .onnx ReLU)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON object."),
) -> int:
    """Kind, sizes, weight signs and whether every neuron is guaranteed to fire."""
    d = describe(load_network(net))
    if as_json:
        emit_json(d)
    else:
        for k, v in d.items():
            out.print(f"{k:>20}: {v}")
    return 0


def register(app: typer.Typer) -> None:
    app.command("info")(info_cmd)
