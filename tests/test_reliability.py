"""One test per reliability fix of issue 10 (items 3-7): each failed on the code before the fix,
for the reason its name gives. Generated inputs are in test_fuzz.py."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from srmverify.formats import save_network
from srmverify.formats.files import PENDING, atomic_write
from srmverify.network import ReLUNet
from srmverify.stop import clear_stop, request_stop

sys.path.insert(0, str(Path(__file__).parent))
from cli_harness import check, invoke, no_stray_files  # noqa: E402

EX = Path(__file__).resolve().parents[1] / "srmverify" / "data" / "examples"
SNN, RELU, SAT = EX / "snn_2_3_2.json", EX / "relu_2_8_3.json", EX / "snn_2_3_2_sat.vnnlib"


def bad_input(*argv, name: str | None = None):
    """The run ends with exit 3, one line naming ``name``, and a JSON error object."""
    o = check(invoke(*argv, "--json"), {3})
    assert {k: o.obj[k] for k in ("verdict", "exit_code")} == {"verdict": "error", "exit_code": 3}
    if name is not None:
        assert name in o.obj["error"], o.obj
    return o


# ----------------------------------------------------------------------------- item 3: exit codes
def test_non_utf8_network_and_certificate_files_are_bad_input(tmp_path):
    net = tmp_path / "net.json"
    net.write_bytes(b'\xff\xfe{"kind": "snn"}')
    bad_input("info", net, name="not UTF-8")
    bad_input("certify", SNN, RELU, "--cert", net, name="not UTF-8")


def test_deeply_nested_json_and_vnnlib_are_bad_input(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    bad_input("info", deep, name="nested too deeply")
    prop = tmp_path / "deep.vnnlib"
    prop.write_text("(assert " * 5000 + ")" * 5000)
    bad_input("verify", SNN, prop, name="MAX_NESTING")


def test_a_401_digit_integer_weight_is_bad_input(tmp_path):
    net = tmp_path / "big.json"
    net.write_text('{"kind": "relu", "layers": [{"weights": [[1%s]], "biases": [0]}]}' % ("0" * 400))
    bad_input("info", net, name="layers[0].weights")
    d = json.loads(SNN.read_text())
    d["neurons"][0]["threshold"] = 10 ** 400
    net.write_text(json.dumps(d))
    bad_input("info", net, name="neurons[0].threshold")


def test_huge_box_and_radius_are_bad_input_not_overflow():
    bad_input("bounds", RELU, "--box=-1e308:1e308", name="MAX_MAGNITUDE")
    bad_input("robust", SNN, "--x0", "0.2,1.5", "--eps", "1e308", name="MAX_MAGNITUDE")   # was "no finite bound", exit 5
    bad_input("robust", RELU, "--x0", "1e300,0", "--eps", "1", name="MAX_MAGNITUDE")


OUTPUT_CASES = {
    "convert -o": lambda p: ("convert", RELU, "--box", "0:1", "-o", p),
    "convert --cert-out": lambda p: ("convert", RELU, "--box", "0:1", "-o", "{tmp}/snn.json", "--cert-out", p),
    "certify --cert-out": lambda p: ("certify", "{tmp}/snn.json", RELU, "--box", "0:1", "--cert-out", p),
    "verify --cex-out": lambda p: ("verify", SNN, SAT, "--cex-out", p),
    "regions --plot": lambda p: ("regions", SNN, "--box", "0:1", "--plot", p),
}
BAD_PLACES = {"missing dir": "{tmp}/missing/dir/out.png", "a directory": "{tmp}", "full disk": "/dev/full",
              "read-only place": "/proc/srmverify-out.png"}


@pytest.mark.parametrize("place", BAD_PLACES)
@pytest.mark.parametrize("option", OUTPUT_CASES)
def test_unwritable_outputs_are_refused_before_the_work(tmp_path, option, place):
    if option == "regions --plot":
        pytest.importorskip("matplotlib")
    save_network(_converted(tmp_path), tmp_path / "snn.json")
    before = (tmp_path / "snn.json").read_bytes()
    argv = [str(a).format(tmp=tmp_path) for a in OUTPUT_CASES[option](BAD_PLACES[place])]
    o = check(invoke(*argv, "--json"), {3})
    assert o.obj["exit_code"] == 3
    no_stray_files(tmp_path, {"snn.json"})
    assert (tmp_path / "snn.json").read_bytes() == before   # convert -o ok --cert-out missing/: ok is untouched


def _converted(tmp_path):
    from srmverify.convert import convert_network
    from srmverify.formats import load_network

    return convert_network(load_network(RELU), np.array([[0.0, 1.0]] * 2), to="snn").network


# ----------------------------------------------------------------------------- item 4: declared sizes
@pytest.mark.parametrize("n", [10 ** 7, 10 ** 12])
def test_declared_huge_input_counts_are_refused_at_once(tmp_path, n):
    net = tmp_path / "huge.json"
    net.write_text(json.dumps({"kind": "snn", "inputs": n, "neurons": [], "synapses": [], "outputs": []}))
    assert len(net.read_bytes()) < 140
    o = bad_input("info", net, name="MAX_INPUTS")
    assert o.seconds < 2.0          # was 30-55 s and 2.3 GB for 10^7; never ended for 10^12
    prop = tmp_path / "p.vnnlib"
    prop.write_text(f"(declare-const X_{n} Real)\n")
    assert bad_input("verify", SNN, prop, name="MAX_VNNLIB_VARIABLES").seconds < 2.0


def test_sample_counts_are_limited():
    bad_input("regions", SNN, "--line", "0,0", "1,1", "--samples", str(10 ** 12), name="MAX_SAMPLES")


# ----------------------------------------------------------------------------- item 5: files
def test_atomic_write_leaves_the_old_file_when_the_writer_fails(tmp_path, monkeypatch):
    target = tmp_path / "net.json"
    target.write_text("old")

    def failing_write(self, data, *a, **k):     # a disk that fills up halfway
        with open(self, "w") as fh:
            fh.write(data[:3])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", failing_write)
    with pytest.raises(Exception, match="No space left"):
        atomic_write(target, "new content")
    monkeypatch.undo()
    assert target.read_text() == "old"
    no_stray_files(tmp_path, {"net.json"})
    assert not PENDING


def test_no_output_is_published_after_a_stop_request(tmp_path):
    request_stop(signal.SIGTERM)
    try:
        with pytest.raises(Exception, match="interrupted by SIGTERM"):
            atomic_write(tmp_path / "x.json", "{}")
    finally:
        clear_stop()
    no_stray_files(tmp_path, set())


def _send_sigterm_when_handled(delay: float) -> threading.Thread:
    """SIGTERM to this process ``delay`` s after the CLI installed its handler."""
    def fire():
        default = signal.getsignal(signal.SIGTERM)
        t0 = time.perf_counter()
        while signal.getsignal(signal.SIGTERM) is default and time.perf_counter() - t0 < 30:
            time.sleep(0.01)
        time.sleep(delay)
        os.kill(os.getpid(), signal.SIGTERM)
    t = threading.Thread(target=fire, daemon=True)
    t.start()
    return t


def _wide_relu(tmp_path) -> Path:
    rng = np.random.default_rng(1)
    sizes = [(8, 100), (100, 100), (100, 100), (100, 2)]
    path = tmp_path / "wide.json"
    save_network(ReLUNet([(rng.normal(size=(o, i)), rng.normal(size=o)) for i, o in sizes]), path)
    return path


@pytest.mark.parametrize("argv", [["bounds", "NET", "--box", "-1:1"], ["regions", "NET", "--box", "-1:1"]])
def test_sigterm_stops_a_long_command_like_a_timeout(tmp_path, argv, monkeypatch):
    monkeypatch.setattr("srmverify_cli.signals.GRACE", 60.0)    # in-process: the watchdog must not end pytest
    net = _wide_relu(tmp_path)
    t = _send_sigterm_when_handled(0.5)
    o = check(invoke(*[str(net) if a == "NET" else a for a in argv], "--json"), {143}, max_seconds=10)
    t.join()
    assert o.obj["interrupted"] == "SIGTERM" and o.obj["complete"] is False
    assert "partial" in o.err
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL        # the CLI's handler is gone again


def test_sigterm_to_convert_leaves_no_half_written_output(tmp_path):
    """A real process: SIGTERM while ``convert -o`` runs ends with 143 and no output, or (when the
    conversion finished first) 0 and a complete file; never a partial or temporary file."""
    relu = ReLUNet([(np.random.default_rng(0).normal(size=(256, 64)), np.zeros(256)),
                    (np.random.default_rng(1).normal(size=(10, 256)), np.zeros(10))])
    save_network(relu, tmp_path / "relu.json")
    proc = subprocess.Popen([sys.executable, "-c", "from srmverify_cli.main import main; main()", "convert",
                             str(tmp_path / "relu.json"), "--box", "0:1", "-o", str(tmp_path / "snn.json"), "--certify"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    # -15: the signal came before the handlers were installed or after they were removed
    assert proc.returncode in (0, 143, -signal.SIGTERM), err
    assert "Traceback" not in err
    if proc.returncode == 143:
        no_stray_files(tmp_path, {"relu.json"})
    else:
        no_stray_files(tmp_path, {"relu.json", "snn.json"})
    if (tmp_path / "snn.json").exists():
        assert json.loads((tmp_path / "snn.json").read_text())["kind"] == "snn"


def test_watchdog_ends_a_command_stuck_in_native_code(tmp_path):
    """time.sleep resumes after the Python handler ran (PEP 475), as a solver call in C would not
    even let it run: the watchdog must end the process ~GRACE s after SIGTERM, deleting the
    temporary output in flight."""
    part = tmp_path / ".out.json.x.part"
    script = ("import sys, time\n"
              "from srmverify_cli.signals import stop_on_signals\n"
              "from srmverify.formats.files import PENDING\n"
              f"open({str(part)!r}, 'w').write('half'); PENDING.add({str(part)!r})\n"
              "with stop_on_signals():\n"
              "    print('ready', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    t0 = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143 and "interrupted by SIGTERM" in err
    assert time.perf_counter() - t0 < 15
    assert not part.exists()


def test_concurrent_converts_to_one_file_leave_a_valid_file(tmp_path):
    cmd = [sys.executable, "-c", "from srmverify_cli.main import main; main()", "convert", str(RELU), "--box", "0:1",
           "-o", str(tmp_path / "same.json")]
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    assert json.loads((tmp_path / "same.json").read_text())["kind"] == "snn"
    no_stray_files(tmp_path, {"same.json"})


# ----------------------------------------------------------------------------- item 6: start-up
def test_help_starts_fast():
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "from srmverify_cli.main import main; main()", "--help"],
                   capture_output=True, timeout=60, check=True)
    assert time.perf_counter() - t0 < 3.0      # 0.3 s on an idle machine; generous for a loaded CI box


# ----------------------------------------------------------------------------- item 7: smaller traps
def test_equiv_of_a_network_with_itself_is_immediate(tmp_path):
    relu = tmp_path / "relu.json"
    save_network(ReLUNet([([[1, -1], [0.5, 2], [-1, 1]], [0, -0.5, 0.2]), ([[1, -1, 0.5], [0.3, 1, -2]], [0, 0.1])]), relu)
    o = check(invoke("equiv", relu, relu, "--box", "0:1", "--json"), {0})
    assert o.obj["verdict"] == "unsat" and o.obj["engine"] == "identity" and o.seconds < 5   # was 30 s


def test_robust_on_a_relu_network_defaults_to_argmax():
    # y = (x, 1 - x): at x = 0.2 the argmax is output 1 (ttfs would take the SMALLEST output, 0)
    net = ReLUNet([([[1.0], [-1.0]], [0.0, 1.0])])
    from srmverify.verify.queries import robustness

    r = robustness(net, [0.2], 0.1)
    assert r.details["mode"] == "argmax" and r.details["label"] == 1 and r.verdict.value == "unsat"


def test_robust_cli_mode_default_depends_on_the_network_kind():
    assert check(invoke("robust", RELU, "--x0", "0.3,-0.2", "--eps", "0.001", "--json"), {0, 1}).obj["details"]["mode"] == "argmax"
    assert check(invoke("robust", SNN, "--x0", "0.2,1.5", "--eps", "0.1", "--json"), {0, 1}).obj["details"]["mode"] == "ttfs"


def test_bounds_json_reports_a_status_not_a_verdict():
    o = check(invoke("bounds", RELU, "--box", "-1:1", "--method", "interval", "--json"), {0})
    assert "verdict" not in o.obj and o.obj["status"] == "sound" and o.obj["complete"] is True
    o = check(invoke("bounds", SNN, "--box", "0:2", "--json"), {0})
    assert o.obj["status"] == "optimal" and o.obj["optimal"] is True


@pytest.mark.parametrize("argv, code", [
    (["info", "/no/such.json"], 3),
    (["bounds", str(RELU), "--box", "0:1", "--no-such-option"], 2),
    (["bounds", str(RELU), "--box", "0:1", "--timeout", "-1"], 3),
    (["simulate", str(SNN)], 3),
])
def test_json_error_object_on_every_error_exit(argv, code):
    o = check(invoke(*argv, "--json"), {code})
    assert o.obj["verdict"] == "error" and o.obj["exit_code"] == code and o.obj["error"]
