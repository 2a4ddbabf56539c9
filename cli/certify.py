"""``srmverify certify SNN RELU --box BOX [--cert C.json] [--cert-out C.json]``."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import typer

from srmverify.errors import InputError
from srmverify.formats import load_network, parse_box
from srmverify.formats.files import check_output_path
from srmverify.network import SNN, ReLUNet
from srmverify.results import EXIT_OK, EXIT_VIOLATED

from .render import JsonOpt, emit_json, fmt, out, progress_bar


def certify_cmd(
    snn_path: Path = typer.Argument(..., metavar="SNN", help="Spiking network (.json)."),
    relu_path: Path = typer.Argument(..., metavar="RELU", help="ReLU network (.json or .onnx)."),
    box: Optional[str] = typer.Option(None, "--box", help="Input box (lo:hi, l0:h0,..., JSON, .json, .vnnlib); "
                                                          "taken from --cert when omitted."),
    cert: Optional[Path] = typer.Option(None, "--cert", help="Re-check this stored JSON certificate (no solver)."),
    cert_out: Optional[Path] = typer.Option(None, "--cert-out", help="Write the (re)computed certificate here."),
    as_json: JsonOpt = False,
) -> int:
    """Exact compositional proof that SNN computes RELU on the box: exit 0 accepted, 1 rejected."""
    from srmverify.convert import certify, check_certificate, load_certificate, save_certificate  # lazily: the CLI starts without the solvers

    if cert_out is not None:
        check_output_path(cert_out, "--cert-out")
    snn, relu = load_network(snn_path), load_network(relu_path)
    if not isinstance(snn, SNN):
        raise InputError(str(snn_path), "kind", "relu", "the first network must be an SNN")
    if not isinstance(relu, ReLUNet):
        raise InputError(str(relu_path), "kind", "snn", "the second network must be a ReLU network")
    if cert is None and box is None:
        raise InputError("<command line>", "--box", None, "give --box (or a certificate with --cert)")
    stored = load_certificate(cert) if cert is not None else None
    region = parse_box(box, relu.n_inputs) if box is not None else None
    if stored is not None and region is not None and not np.array_equal(np.asarray(stored["box"], dtype=float), region):
        raise InputError(str(cert), "box", "differs", "the certificate was made for another box (omit --box)")
    with progress_bar("certify") as progress:
        result = (check_certificate(stored, snn, relu, progress=progress, source=str(cert)) if stored is not None
                  else certify(snn, relu, region, progress=progress))
    if cert_out is not None:
        save_certificate(result, cert_out)
    code = EXIT_OK if result.accepted else EXIT_VIOLATED
    if as_json:
        emit_json({**result.summary(), "certificate_file": None if cert_out is None else str(cert_out), "exit_code": code})
        return code
    out.print(result.verdict)
    out.print(f"{result.checks} exact checks on {result.snn_neurons} neurons / {result.snn_synapses} synapses "
              f"in {fmt(result.time)} s" + (" (stored certificate re-checked)" if stored is not None else ""))
    for f in result.failures[:5]:
        out.print(f"failed: {f}")
    if cert_out is not None:
        out.print(f"wrote {cert_out}")
    return code


def register(app: typer.Typer) -> None:
    app.command("certify")(certify_cmd)
