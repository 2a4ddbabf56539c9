"""``srmverify demo``: convert, certify, verify and count regions on bundled data (seconds)."""
from __future__ import annotations

import typer

from srmverify.errors import InputError
from srmverify.results import EXIT_OK, EXIT_VIOLATED

from .render import JsonOpt, emit_json, out, progress_bar, secs


def demo_cmd(
    robust: int = typer.Option(3, "--robust", help="How many test digits get a robustness query (0: none)."),
    eps: float = typer.Option(0.01, "--eps", help="L-infinity radius of the robustness queries (pixels in [0, 1])."),
    timeout: float = typer.Option(5.0, "--timeout", help="Seconds per robustness query."),
    as_json: JsonOpt = False,
) -> int:
    """Bundled digits MLP -> exact SNN -> certificate -> identical accuracies -> robustness -> exact region count."""
    from srmverify.demo import run_demo  # lazily: the CLI starts without the solvers

    if robust < 0:
        raise InputError("<command line>", "--robust", robust, "must be >= 0")
    if not (0 <= eps < float("inf")):
        raise InputError("<command line>", "--eps", eps, "must be a finite number >= 0")
    if not (0 < timeout < float("inf")):
        raise InputError("<command line>", "--timeout", timeout, "must be a positive number of seconds")
    with progress_bar("demo") as progress:
        r = run_demo(n_robust=robust, eps=eps, timeout=timeout, progress=progress)
    code = EXIT_OK if r.passed else EXIT_VIOLATED
    if as_json:
        emit_json({**r.to_dict(), "exit_code": code})
        return code
    c, cert = r.conversion, r.certificate
    out.print(f"digits model: ReLU MLP {c['relu_widths']} (bundled, trained on scikit-learn's 8x8 digits)")
    out.print(f"converted to SNN on [0, 1]^64: {c['snn_neurons']} neurons ({c['kink_neurons']} kink), "
              f"{c['snn_synapses']} synapses, depth {c['snn_depth']}; exact (error bound {c['error_bound']:g})")
    out.print(f"certificate: {cert['verdict']} ({cert['checks']} exact checks, {secs(cert['time'])})"
              + (f"; first failure: {cert['first_failure']}" if cert["first_failure"] else ""))
    out.print(f"test accuracy on {r.n_test} digits: ReLU {r.relu_accuracy:.4f}, SNN {r.snn_accuracy:.4f} "
              f"({r.same_predictions}/{r.n_test} identical predictions, max |SNN - ReLU| = {r.max_output_difference:.2g} "
              f"in float simulation)")
    for q in r.robustness:
        tol = "exact" if q["tolerance"] is None else f"tolerance {q['tolerance']:g}"
        out.print(f"robustness digit {q['digit']} (label {q['label']}, eps {q['eps']:g}): {q['verdict']} "
                  f"({q['engine']}, {tol}, {secs(q['time'])})")
    g = r.regions
    out.print(f"regions of a bundled shared-weight spiking layer (3 neurons, 3 inputs): {g['causal_regions']} causal, "
              f"{g['linear_regions']} linear, exact{'' if g['complete'] else ' (PARTIAL)'}; theory {g['formula']} = "
              f"{g['theory']} ({secs(g['time'])})")
    out.print(f"{'PASSED' if r.passed else 'FAILED'} in {secs(r.time)}")
    return code


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_cmd)
