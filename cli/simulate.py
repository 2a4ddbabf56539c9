"""``srmverify simulate NET --input x | --inputs FILE [-o OUT]``: streamed, chunk by chunk."""
from __future__ import annotations

import itertools
from fractions import Fraction
import sys
from pathlib import Path
from typing import Optional

import typer

from srmverify.errors import InputError
from srmverify.formats import load_network, parse_vector
from srmverify.formats.arrays import CHUNK_ROWS, iter_inputs
from srmverify.formats.files import check_output_path
from srmverify.formats.rows_out import RowWriter, output_format
from srmverify.network import SNN
from srmverify.results import EXIT_INCONCLUSIVE, EXIT_OK
from srmverify.schemas import RESULT_FORMAT, stamp
from srmverify.simulate.stream import simulate_chunks

from .query_common import check_timeout, left_of
from .render import NETWORKS, JsonOpt, emit_json, err, fmt, progress_bar


def simulate_cmd(
    net: Path = typer.Argument(..., help=f"Network file ({NETWORKS})."),
    input: Optional[str] = typer.Option(None, "--input", "-x", help="One input, comma-separated (data space)."),
    inputs: Optional[Path] = typer.Option(None, "--inputs", help="Inputs, one per row (.csv, .txt, .npy, .json, .jsonl; text may be .gz)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the outputs here (.csv, .txt, .npy, .jsonl, .json), atomically."),
    exact: bool = typer.Option(False, "--exact", help="Exact rational simulation (slow; prints fractions)."),
    chunk: int = typer.Option(CHUNK_ROWS, "--chunk", help="Rows read, simulated and written at a time."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Wall-clock limit in seconds (rows done so far are kept; exit 4)."),
    as_json: JsonOpt = False,
) -> int:
    """Simulate a network on inputs; `inf` (JSON `null`) marks an output neuron that never fires."""
    network = load_network(net)
    if (input is None) == (inputs is None):
        raise InputError("<command line>", "--input/--inputs", None, "give exactly one of --input or --inputs")
    if chunk < 1:
        raise InputError("<command line>", "--chunk", chunk, "must be a positive number of rows")
    timeout = check_timeout(timeout)
    if output is not None:
        output_format(output)
        check_output_path(output, "-o")
    if input is not None:
        total, chunks = 1, iter([(0, parse_vector(input, "--input", network.n_inputs)[None, :])])
    else:
        total, chunks = iter_inputs(inputs, network.n_inputs, chunk)
        first = next(chunks, None)  # a bad first chunk fails before anything is written
        chunks = itertools.chain([] if first is None else [first], chunks)
    meta = {"kind": "snn" if isinstance(network, SNN) else "relu", "exact": exact}
    if output is None:
        opener = RowWriter.to_stream(sys.stdout, "json" if as_json else "text", stamp(meta, RESULT_FORMAT))
    else:
        opener = RowWriter.to_path(output, stamp(meta, RESULT_FORMAT))
    with progress_bar("simulate") as progress, opener as w:
        human = output is None and not as_json
        write = (lambda y, e: w.write(y, None if e is None else [[_exact(v) for v in r] for r in e])) if human else w.write
        r = simulate_chunks(network, chunks, write, exact=exact, timeout=left_of(timeout), total=total, progress=progress)
        w.complete = r.complete
    if output is not None:
        summary = {**meta, "output": str(output), "format": w.fmt, "rows": r.rows, "complete": r.complete,
                   "settled_exactly": r.settled}
        if as_json:
            emit_json(summary)
        else:
            sys.stdout.write(f"wrote {r.rows} rows to {output}" + ("" if r.complete else " (incomplete: timeout)") + "\n")
    if not r.complete:
        err.print(f"timeout: stopped after {r.rows} rows" + (f" of {total}" if total else ""))
        return EXIT_INCONCLUSIVE
    return EXIT_OK


def _exact(s: str) -> str:
    """``0.75``, or ``0.3333333333 (=1/3)`` when the decimal is not the exact value.

    >>> _exact("3/4"), _exact("1/3"), _exact("inf")
    ('0.75', '0.3333333333 (=1/3)', 'inf')
    """
    if s == "inf":
        return s
    v = Fraction(s)
    short = fmt(v)
    return short if Fraction(short) == v else f"{short} (={v})"


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_cmd)
