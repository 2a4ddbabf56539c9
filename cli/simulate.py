"""``srmverify simulate NET --input x | --inputs FILE``."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Optional

import typer

from srmverify.errors import InputError
from srmverify.formats import load_inputs, load_network, parse_vector
from srmverify.network import SNN
from srmverify.simulate import simulate as simulate_batch, simulate_exact
from srmverify.results import EXIT_OK

from .render import JsonOpt, emit_json, fmt, out


def simulate_cmd(
    net: Path = typer.Argument(..., help="Network file (.json SNN/ReLU, .onnx ReLU)."),
    input: Optional[str] = typer.Option(None, "--input", "-x", help="One input, comma-separated (data space)."),
    inputs: Optional[Path] = typer.Option(None, "--inputs", help="Inputs, one per row (.csv, .npy, .json)."),
    exact: bool = typer.Option(False, "--exact", help="Exact rational simulation (slow; prints each decimal with its exact fraction)."),
    as_json: JsonOpt = False,
) -> int:
    """Simulate a network on inputs; `inf` (JSON `null`) marks an output neuron that never fires."""
    network = load_network(net)
    if (input is None) == (inputs is None):
        raise InputError("<command line>", "--input/--inputs", None, "give exactly one of --input or --inputs")
    x = parse_vector(input, "--input", network.n_inputs)[None, :] if input is not None else load_inputs(inputs, network.n_inputs)
    if exact:
        rows = [simulate_exact(network, row.tolist()) for row in x]
        values = [[None if v is None else float(v) for v in r] for r in rows]
        shown = [[_exact(v) for v in r] for r in rows]
    else:
        y = simulate_batch(network, x)
        values = y.tolist()
        shown = [[fmt(v) for v in r] for r in values]
    if as_json:
        obj = {"kind": "snn" if isinstance(network, SNN) else "relu", "outputs": values, "exact": exact}
        if exact:
            obj["outputs_exact"] = [[("inf" if v is None else str(v)) for v in r] for r in rows]
        emit_json(obj)
    else:
        for r in shown:
            out.print(" ".join(r))
    return EXIT_OK


def _exact(v: Fraction | None) -> str:
    """``0.75``, or ``0.3333333333 (=1/3)`` when the decimal is not the exact value.

    >>> _exact(Fraction(3, 4)), _exact(Fraction(1, 3)), _exact(None)
    ('0.75', '0.3333333333 (=1/3)', 'inf')
    """
    if v is None:
        return "inf"
    short = fmt(v)
    return short if Fraction(short) == v else f"{short} (={v})"


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_cmd)
