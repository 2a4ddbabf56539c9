"""Check a ``srmverify batch`` output folder the way VNN-COMP does.

For every row of ``DIR/results.csv``:

* the verdict must map, through the competition's ``CSV_SUBSTITUTIONS``, to a result its scorer
  accepts (``holds``, ``violated``, ``timeout``, ``error``, ``unknown``);
* every ``sat`` counterexample (the result file after its first line) is replayed through
  onnxruntime: the input must lie in one of the property's boxes within 1e-4, onnxruntime's output
  must match the file's ``Y`` values within rtol 1e-3 / atol 1e-4, and it must violate the property
  (our own check, independent of the scorer's code);
* with ``--scoring DIR`` (the ``SCORING`` folder of a checkout of VNN-COMP/vnncomp2026_results;
  fetched by you, never committed here), the scorer's own reader ``counterexamples.get_ce_diff``
  must call every counterexample ``correct`` (or ``correct_up_to_tolerance``). Its ``settings.py``
  asserts that a folder ``vnncomp2026_benchmarks`` exists next to the results checkout (an empty
  one is enough for this reader).

    python benchmarks/check_vnncomp_results.py OUT_DIR --instances /work/shared/benchmarks/acasxu/instances.csv \\
        [--scoring /tmp/vnncomp2026_results/SCORING] [--published /work/shared/benchmarks/acasxu/published_verdicts.csv]
"""
from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import types
from pathlib import Path

import numpy as np

from srmverify.batch import read_instances
from srmverify.batch.runner import result_file
from srmverify.formats.files import read_bytes
from srmverify.formats.vnnlib import read_counterexample, read_vnnlib

ACCEPTED = {"holds", "violated", "timeout", "error", "unknown"}
#: VNN-COMP 2026 SCORING/settings.py (the result strings our files can produce).
SUBSTITUTIONS = [("unsat", "holds"), ("sat", "violated"), ("timed-out", "timeout")]


def scorer_name(verdict: str) -> str:
    for prefix, to in SUBSTITUTIONS:
        if verdict.startswith(prefix):
            return to
    return verdict


def replay(onnx_path: str, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(read_bytes(onnx_path), providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    dtype = np.float64 if "double" in inp.type else np.float32
    shape = [d if isinstance(d, int) and d > 0 else 1 for d in inp.shape]
    return np.asarray(sess.run(None, {inp.name: x.astype(dtype).reshape(shape)})[0], dtype=float).ravel()


def violates(spec, x: np.ndarray, y: np.ndarray, in_tol: float = 1e-4) -> bool:
    for boxes, dnf in spec.groups:
        if any(np.all(x >= b[:, 0] - in_tol) and np.all(x <= b[:, 1] + in_tol) for b in boxes):
            if any(all(float(c @ y) <= d for c, d in conj) for conj in dnf):
                return True
    return False


def plain_copy(path: str, folder: Path) -> str:
    """``path`` itself, or for ``.gz`` a decompressed copy in ``folder`` (the scorer reads plain files)."""
    if not path.endswith(".gz"):
        return path
    out = folder / Path(path).name[:-3]
    out.write_bytes(read_bytes(path))
    return str(out)


def load_scorer(scoring: Path):
    """``counterexamples.get_ce_diff`` from the scorer's folder (``cachier`` stubbed if absent)."""
    try:
        import cachier  # noqa: F401
    except ImportError:
        stub = types.ModuleType("cachier")
        stub.cachier = lambda **kw: (lambda f: f)
        sys.modules["cachier"] = stub
    sys.path.insert(0, str(scoring))
    import counterexamples  # the scorer's module

    return counterexamples


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--instances", type=Path, required=True)
    ap.add_argument("--scoring", type=Path)
    ap.add_argument("--published", type=Path)
    args = ap.parse_args()
    by_key = {i.key: i for i in read_instances(args.instances)}
    rows = list(csv.reader(open(args.out / "results.csv")))[1:]
    scorer = load_scorer(args.scoring) if args.scoring else None
    tmp = Path(tempfile.mkdtemp(prefix="check_vnncomp_"))
    published = {}
    if args.published:
        published = {(r["onnx"], r["vnnlib"]): r["verdict"] for r in csv.DictReader(open(args.published))}
    bad, n_sat, worst_in, worst_out, wrong = [], 0, 0.0, 0.0, []
    scorer_ok: dict[str, int] = {}
    counts: dict[str, int] = {}
    for onnx_f, vnnlib_f, verdict, _ in rows:
        counts[verdict] = counts.get(verdict, 0) + 1
        if scorer_name(verdict) not in ACCEPTED:
            bad.append(f"{onnx_f},{vnnlib_f}: result {verdict!r} is not accepted by the scorer")
        inst = by_key[(onnx_f, vnnlib_f)]
        pub = published.get((Path(onnx_f).name, Path(vnnlib_f).name))
        if pub and verdict in ("sat", "unsat") and verdict != pub:
            wrong.append(f"{onnx_f},{vnnlib_f}: {verdict}, published {pub}")
        path = args.out / "results" / f"{inst.name}.txt"
        lines = path.read_text().splitlines()
        if lines[0] != verdict:
            bad.append(f"{path}: first line {lines[0]!r}, results.csv says {verdict!r}")
        if verdict != "sat":
            continue
        n_sat += 1
        x, y_file = read_counterexample(path)
        spec = read_vnnlib(inst.vnnlib)
        onnx_path = inst.networks[0][1]
        y = replay(onnx_path, x)
        dist = min(float(np.max(np.maximum(np.maximum(b[:, 0] - x, x - b[:, 1]), 0))) for b in spec.input_boxes)
        worst_in = max(worst_in, dist)
        worst_out = max(worst_out, float(np.max(np.abs(y - y_file) / (1e-4 + 1e-3 * np.abs(y)))))
        if dist > 1e-4 or not np.allclose(y, y_file, rtol=1e-3, atol=1e-4) or not violates(spec, x, y):
            bad.append(f"{path}: counterexample does not replay in onnxruntime")
        if scorer is not None:
            with tempfile.NamedTemporaryFile("w", suffix=".counterexample", delete=False) as fh:
                fh.write("\n".join(lines[1:]) + "\n")       # the harness stores the file after its first line
            plain = [plain_copy(f, tmp) for f in (onnx_path, inst.vnnlib)]    # the harness gunzips first
            res, msg = scorer.get_ce_diff(*plain, fh.name, 1e-4, 0.0)
            Path(fh.name).unlink()
            scorer_ok[res] = scorer_ok.get(res, 0) + 1
            if res not in ("correct", "correct_up_to_tolerance"):
                bad.append(f"{path}: scorer says {res}: {msg.splitlines()[0]}")
    print(f"{len(rows)} rows: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print(f"sat counterexamples replayed in onnxruntime: {n_sat}; largest input distance to the box {worst_in:.3g}; "
          f"largest |y_ort - y_file| / (1e-4 + 1e-3 |y|) = {worst_out:.3g}")
    if scorer is not None:
        print(f"VNN-COMP 2026 scorer (get_ce_diff) on {n_sat} counterexamples: "
              + ", ".join(f"{k} {v}" for k, v in sorted(scorer_ok.items())))
    if published:
        print(f"wrong verdicts against {args.published.name}: {len(wrong)}")
    for line in bad + wrong:
        print("FAIL", line)
    return 1 if bad or wrong else 0


if __name__ == "__main__":
    sys.exit(main())
