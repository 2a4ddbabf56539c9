"""``srmverify convert NET --box BOX -o OUT [--to snn|relu|nir] [--certify] [--cert-out C.json]``."""
from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

import typer

from srmverify.formats import load_network, parse_box, save_network
from srmverify.network import SNN
from srmverify.results import EXIT_OK, EXIT_VIOLATED
from srmverify.errors import InputError
from srmverify.formats.files import check_output_path
from srmverify.network import ReLUNet

from .render import NETWORKS, JsonOpt, emit_json, err, fmt, out, progress_bar


def convert_cmd(
    net: Path = typer.Argument(..., help=f"Network to convert ({NETWORKS})."),
    box: Optional[str] = typer.Option(None, "--box", metavar="BOX",
                                      help="Input box: lo:hi, l0:h0,..., JSON [[lo, hi], ...], .json or .vnnlib file (not needed for an SNN --to nir)."),
    output: Path = typer.Option(..., "--output", "-o", help="Output file (.json; .onnx for a ReLU network; .nir for an SNN)."),
    to: Literal["auto", "snn", "relu", "nir"] = typer.Option("auto", "--to",
                           help="snn, relu, nir (an SNN as a NIR graph; a ReLU network is converted to an SNN first), or auto (the other kind)."),
    nir_profile: Literal["exact", "cubalif", "cubalif-snntorch"] = typer.Option(
        "exact", "--nir-profile",
        help="--to nir: exact (Delay → Linear → I → IF), or the CubaLIF approximation clock-driven simulators run: cubalif (forward Euler, a spike = 1 per step), cubalif-snntorch (snnTorch's importer's scaling)."),
    dt: float = typer.Option(1e-3, "--dt", metavar="DT", help="--nir-profile cubalif: the simulator's time step."),
    bounds: str = typer.Option("best", "--bounds", help="ReLU→SNN: which float bounds propose stable ReLUs (each claim is proven exactly): best (= symbolic), interval, symbolic, lp."),
    certify: bool = typer.Option(False, "--certify", help="Check the ReLU→SNN conversion with the exact certificate."),
    cert_out: Optional[Path] = typer.Option(None, "--cert-out", help="Write the JSON certificate here (implies --certify)."),
    max_pieces: int = typer.Option(256, "--max-pieces", help="SNN→ReLU: refuse a neuron with more affine pieces."),
    max_units: int = typer.Option(200_000, "--max-units", help="SNN→ReLU: refuse when the ReLU network gets bigger."),
    as_json: JsonOpt = False,
) -> int:
    """Convert ReLU → SNN exactly (model.md §4) or a CPWL SNN → ReLU; exit 1 if --certify rejects."""
    from srmverify.convert import Discontinuous, convert_network, save_certificate  # lazily: the CLI starts without the solvers
    from srmverify.formats.nir_net import save_nir  # lazily: networkx

    check_output_path(output, "--output")
    if cert_out is not None:
        check_output_path(cert_out, "--cert-out")
    network = load_network(net)
    if to == "nir" and isinstance(network, SNN):
        save_nir(network, output, nir_profile, dt)
        if as_json:
            emit_json({"direction": "snn->nir", "profile": nir_profile, "output": str(output), "exit_code": EXIT_OK})
        else:
            out.print(f"wrote {output} (NIR, {nir_profile} profile)")
        return EXIT_OK
    if box is None:
        raise typer.BadParameter("--box is required to convert between ReLU networks and SNNs")
    target = to if to != "auto" else "snn" if isinstance(network, ReLUNet) else "relu"
    if target == "snn" and output.name.endswith(".onnx"):
        raise InputError(str(output), "--output", output.suffix, "ONNX holds ReLU networks only; write the SNN as .json")
    region = parse_box(box, network.n_inputs)
    try:
        with progress_bar("convert") as progress:
            conv = convert_network(network, region, to="snn" if to == "nir" else to, bounds=bounds, certify_result=certify or cert_out is not None,
                                   max_pieces=max_pieces, max_units=max_units, progress=progress)
    except Discontinuous as exc:
        if as_json:
            emit_json({"refused": True, "reason": str(exc), "witness": exc.witness.to_dict()})
        else:
            w = exc.witness.to_dict()
            err.print(f"srmverify: refused: {exc}")
            err.print(f"witness x0 = {w['x0']} -> {w['y0']}")
            err.print(f"witness x1 = {w['x1']} -> {w['y1']}")
        return exc.exit_code
    if to == "nir":
        save_nir(conv.network, output, nir_profile, dt)
    else:
        save_network(conv.network, output)
    cert = conv.certificate
    if cert is not None and cert_out is not None:
        save_certificate(cert, cert_out)
    code = EXIT_OK if cert is None or cert.accepted else EXIT_VIOLATED
    if as_json:
        emit_json({**conv.to_dict(), "output": str(output), "certificate_file": None if cert_out is None else str(cert_out),
                   "exit_code": code})
        return code
    rep = conv.report.to_dict()
    if conv.direction == "relu->snn":
        out.print(f"converted ReLU {rep['relu_widths']} -> SNN: {rep['snn_neurons']} neurons, {rep['snn_synapses']} synapses, "
                  f"depth {rep['snn_depth']}, {rep['snn_constants']} reference neurons ({fmt(rep['time'])} s)")
        out.print(f"ReLUs: {rep['stable_active']} stable active, {rep['stable_dead']} stable dead ({rep['stable_proven']} of them "
                  f"by exact proofs of {rep['stable_claimed']} {rep['bounds_method']} claims), {rep['unstable']} unstable "
                  f"(kink neurons); {rep['neurons_per_relu_neuron']:.3f} SNN neurons per ReLU neuron")
        out.print(f"rounding: {rep['rounding']}")
    else:
        out.print(f"converted SNN ({rep['snn_neurons']} neurons) -> ReLU {rep['relu_widths']}: {rep['relu_hidden_units']} hidden units, "
                  f"{rep['pieces']} affine pieces (max {rep['max_pieces']} per neuron); sampled max deviation "
                  f"{rep['sampled_max_deviation']:.3g} ({fmt(rep['time'])} s)")
    out.print(f"wrote {output}")
    if cert is not None:
        out.print(f"certificate: {cert.verdict} ({cert.checks} exact checks, {fmt(cert.time)} s)"
                  + (f"; first failure: {cert.first_failure}" if cert.first_failure else ""))
        if cert_out is not None:
            out.print(f"wrote {cert_out}")
    return code


def register(app: typer.Typer) -> None:
    app.command("convert")(convert_cmd)
