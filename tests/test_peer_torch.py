"""The peer's torch checkpoints (issue 13 item 5): ``state_dict`` + yaml config -> SNN.

The fixtures in ``tests/data/peer`` were written by the peer's own code
(``tests/data/peer/make_fixtures.py``): ``NAME.pt`` is ``torch.save(net.state_dict())`` of its
``SpikingNet``, ``NAME.yaml`` the config, ``outputs.json`` the peer's own forward pass. They are
checked against the shared JSON networks (bit for bit) and the exact simulation; the restricted
reader (no torch) against ``torch.load``; crafted pickles are refused without being executed.
"""
from __future__ import annotations

import io
import json
import pickle
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from cli_harness import check, invoke
from srmverify.errors import InputError, UnsupportedNetwork
from srmverify.formats import load_network
from srmverify.formats.peer_torch import load_peer, peer_snn, read_peer_config, use_peer_config
from srmverify.formats.torch_zip import read_state_dict, read_state_dict_restricted
from srmverify.network import SNN
from srmverify.simulate.exact import run_exact

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "peer"
NETS = ("s1", "s3", "xordel", "yy3", "yyneg")
SHARED = next((p for p in (ROOT.parent / "shared", Path("/work/shared")) if (p / "benchmarks" / "peer-nets").is_dir()),
              None)
FIELDS = ("n_inputs", "constants", "thresholds", "src", "dst", "weight", "delay", "outputs", "names")
SHARED_S1 = (SHARED or ROOT) / "benchmarks" / "peer-nets" / "s1.json"


def assert_identical(a: SNN, b: SNN) -> None:
    """Bit for bit, except delays: ``exp(kappa)`` of the same ``kappa`` may round differently in
    two math libraries (the shared nets, regenerated elsewhere, differ from ours by 1 ulp)."""
    for k in FIELDS:
        x, y = np.asarray(getattr(a, k)), np.asarray(getattr(b, k))
        assert x.shape == y.shape, k
        if k == "delay":
            np.testing.assert_array_max_ulp(x, y, maxulp=2)
        else:
            assert np.array_equal(x, y), k


def tiny_state_dict() -> dict[str, np.ndarray]:
    """A 2-2-1 peer net (rows: inputs then one bias; columns: neurons), delays as kappa."""
    return {"layers.0.weight": np.array([[1.0, 0.5], [2.0, -0.25], [0.5, 1.0]]),
            "layers.0.delays": np.log(np.array([[0.5, 1.0], [0.25, 2.0], [1.0, 1.0]])),
            "layers.0.thresholds": np.array([1.0, 0.75]),
            "layers.1.weight": np.array([[1.0], [1.5], [0.25]]),
            "layers.1.delays": np.zeros((3, 1)),
            "layers.1.thresholds": np.array([1.25])}


TINY = {"network_layout": {"n_biases": [1, 1], "bias_times": [0.9], "n_inputs": 2},
        "training_params": {"substitute_delay": True}, "neuron_params": {"activation": "linear"}}


@pytest.mark.skipif(SHARED is None, reason="shared/benchmarks/peer-nets absent")
@pytest.mark.parametrize("name", NETS)
def test_checkpoint_reproduces_the_shared_json_net(name):
    """``NAME.pt`` with ``NAME.yaml`` beside it is the shared JSON network, every bit (exp(kappa) too)."""
    assert_identical(load_network(DATA / f"{name}.pt"), load_network(SHARED / "benchmarks" / "peer-nets" / f"{name}.json"))


@pytest.mark.parametrize("name", NETS)
def test_exact_simulation_equals_the_peers_forward_pass(name):
    """Every hidden and output spike time equals the peer's own explicit forward pass (outputs.json)."""
    ref = json.loads((DATA / "outputs.json").read_text())
    net, want = load_network(DATA / f"{name}.pt"), ref["nets"][name]
    for i, x in enumerate(ref["inputs"]):
        got = run_exact(net, x).times[net.first_neuron:]
        expect = [t for layer in want["hidden"] for t in layer[i]] + want["label"][i]
        assert len(got) == len(expect)
        for g, e in zip(got, expect):
            assert (g is None) == (e is None)
            assert g is None or abs(float(g) - e) <= 1e-12 * max(1.0, abs(e))


def test_mapping_by_hand():
    """Transposed weights, delays exp(kappa), one constant shared by the layers, names as the layered form."""
    net = peer_snn(tiny_state_dict(), TINY)
    assert net.names == ("x0", "x1", "c0", "L1_0", "L1_1", "L2_0")
    assert net.constants.tolist() == [0.9]
    syn = {(int(s), int(d)): (w, dl) for s, d, w, dl in zip(net.src, net.dst, net.weight, net.delay)}
    assert syn[(1, 4)] == pytest.approx((-0.25, 2.0)) and syn[(2, 3)] == (0.5, 1.0) and syn[(4, 5)] == (1.5, 1.0)   # exp(0)
    assert net.thresholds.tolist() == [1.0, 0.75, 1.25] and net.outputs.tolist() == [5]
    # model.md §1 by hand at x = (0, 0): L1_0's arrivals 0.25 (w 2), 0.5 (w 1), 0.9 + 1 (w 0.5);
    # {x1} alone would fire at (1 + 2 * 0.25) / 2 = 0.75 > 0.5, so the causal set is {x1, x0}
    t = run_exact(net, [0.0, 0.0]).times
    assert float(t[3]) == pytest.approx((1.0 + 2.0 * 0.25 + 1.0 * 0.5) / 3.0)


def test_per_layer_bias_times_and_rounding():
    """Per-layer bias lists get their own constants (same times shared); ``rounding_precision``
    rounds the weights as the peer's forward pass does."""
    sd = tiny_state_dict()
    sd["layers.1.weight"] = np.array([[1.0], [1.5], [0.25], [0.3]])
    sd["layers.1.delays"] = np.zeros((4, 1))
    cfg = {"network_layout": {"n_biases": [1, 2], "bias_times": [[0.9], [0.9, 0.1]]},
           "training_params": {"substitute_delay": True, "rounding_precision": 0.25}}
    net = peer_snn(sd, cfg)
    assert net.constants.tolist() == [0.9, 0.1]
    into_out = sorted((int(s), float(w)) for s, d, w in zip(net.src, net.dst, net.weight) if d == net.outputs[0])
    assert into_out == [(2, 0.25), (3, 0.25), (4, 1.0), (5, 1.5)]      # 0.3 -> 0.25; c0 and c1
    into_l1 = sorted(int(s) for s, d in zip(net.src, net.dst) if d == 4)
    assert into_l1 == [0, 1, 2]                                         # layer 1 uses c0 only


def test_keyword_options_and_flat_config():
    a = peer_snn(tiny_state_dict(), n_biases=[1, 1], bias_times=[0.9], substitute_delay=True)
    assert_identical(a, peer_snn(tiny_state_dict(), TINY))
    with pytest.raises(InputError, match="unknown peer option"):
        peer_snn(tiny_state_dict(), TINY, bias_time=[0.9])


@pytest.mark.parametrize("change, match", [
    (lambda sd, c: sd.pop("layers.1.delays"), r"layers\.1\.delays = None: missing key"),
    (lambda sd, c: sd.update({"layers.0.weight": np.ones((2, 2))}), r"layers\.0\.delays = 'shape \(3, 2\)'"),
    (lambda sd, c: sd.update({"layers.1.thresholds": np.ones(2)}), r"layers\.1\.thresholds = 'shape \(2,\)'"),
    (lambda sd, c: sd.update({"fc.weight": np.ones(2)}), r"fc\.weight = 'shape \(2,\)': not a key"),
    (lambda sd, c: c["network_layout"].pop("n_biases"), r"c\.yaml: network_layout\.n_biases = None: missing required"),
    (lambda sd, c: c["network_layout"].pop("bias_times"), r"network_layout\.bias_times = None: missing required"),
    (lambda sd, c: c["network_layout"].update(bias_times=[0.9, 0.1]), r"network_layout\.bias_times = \[0\.9, 0\.1\]"),
    (lambda sd, c: c["network_layout"].update(n_inputs=3), r"network_layout\.n_inputs = 3: does not match"),
    (lambda sd, c: c["network_layout"].update(layer_sizes=[3, 1]), r"network_layout\.layer_sizes = \[3, 1\]"),
    (lambda sd, c: c["training_params"].update(substitute_delay=False), r"layers\.0\.delays\[0\]\[0\] = -0\.69.*>= 0"),
    (lambda sd, c: sd.update({"layers.1.thresholds": np.array([-1.0])}), r"layers\.1\.thresholds\[0\] = -1\.0"),
    (lambda sd, c: sd["layers.0.weight"].__setitem__((0, 0), np.nan), r"layers\.0\.weight\[0\]\[0\] = nan"),
])
def test_bad_inputs_name_key_or_field(change, match):
    sd, cfg = tiny_state_dict(), json.loads(json.dumps(TINY))
    change(sd, cfg)
    with pytest.raises(InputError, match=match):
        peer_snn(sd, cfg, source="m.pt", config_source="c.yaml")


@pytest.mark.parametrize("neuron, match", [
    ({"activation": "alpha_equaltime"}, "only the linear activation"),
    ({"activation": "linear", "delta": 1.0, "use_forward_integrator": True}, "hat kernel"),
])
def test_other_models_are_unsupported(neuron, match):
    cfg = dict(TINY, neuron_params=neuron)
    with pytest.raises(UnsupportedNetwork, match=match):
        peer_snn(tiny_state_dict(), cfg)


def test_forward_integrator_uses_the_configured_threshold():
    """The peer's time-discretised pass compares with ``threshold`` unless thresholds are trained."""
    cfg = dict(TINY, neuron_params={"activation": "linear", "threshold": 2.0, "use_forward_integrator": True})
    assert peer_snn(tiny_state_dict(), cfg).thresholds.tolist() == [2.0, 2.0, 2.0]
    cfg["neuron_params"]["train_threshold"] = True
    assert peer_snn(tiny_state_dict(), cfg).thresholds.tolist() == [1.0, 0.75, 1.25]


@pytest.mark.parametrize("name", ["s1", "yy3"])
def test_restricted_reader_equals_torch_load(name):
    torch = pytest.importorskip("torch")
    got = read_state_dict_restricted(DATA / f"{name}.pt")
    want = torch.load(DATA / f"{name}.pt", map_location="cpu", weights_only=True)
    assert list(got) == list(want)
    for k, v in want.items():
        assert got[k].dtype == np.float64 and np.array_equal(got[k], v.numpy())


def test_torch_reader_and_float32_views(tmp_path):
    """``read_state_dict`` with torch; float32 and a non-contiguous view come back exactly."""
    torch = pytest.importorskip("torch")
    big = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 3
    sd = {"layers.0.weight": big.t()[1:], "layers.0.delays": torch.zeros(3, 3, dtype=torch.float64),
          "layers.0.thresholds": torch.ones(3)}
    torch.save(sd, tmp_path / "m.pt")
    for reader in (read_state_dict, read_state_dict_restricted):
        got = reader(tmp_path / "m.pt")
        assert np.array_equal(got["layers.0.weight"], big.t()[1:].double().numpy())


def test_restricted_reader_views_and_dtypes():
    """float32 / float16 views with an offset and strides (``views.pt``, written by torch.save)."""
    base = np.arange(12, dtype=np.float32).reshape(3, 4) / np.float32(3)
    got = read_state_dict_restricted(DATA / "views.pt")
    assert list(got) == ["f32_view", "f16", "f64"]
    assert np.array_equal(got["f32_view"], base.T[1:].astype(np.float64))
    assert np.array_equal(got["f16"], base.astype(np.float16)[1].astype(np.float64))
    assert np.array_equal(got["f64"], base.astype(np.float64)[:, ::2])


def _checkpoint(path: Path, payload: bytes) -> Path:
    """A zip laid out as torch.save writes it, with ``payload`` as its pickle."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("evil/data.pkl", payload)
        z.writestr("evil/byteorder", "little")
        z.writestr("evil/version", "3\n")
    return path


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("reader", ["cli", "restricted"])
def test_crafted_pickle_is_refused_and_never_run(tmp_path, reader):
    marker = tmp_path / "pwned"
    pt = _checkpoint(tmp_path / "evil.pt", pickle.dumps({"layers.0.weight": _Evil(marker)}, protocol=2))
    (tmp_path / "evil.yaml").write_text("network_layout: {n_biases: [0]}\n")
    if reader == "restricted":
        with pytest.raises(InputError, match=r"data\.pkl = '(posix|os)\.system': refused"):
            read_state_dict_restricted(pt)
    else:       # the CLI: torch.load(weights_only=True) where torch is installed, else the restricted reader
        o = check(invoke("info", pt, "--json"), {3})
        assert "evil.pt" in o.obj["error"] and "system" in o.obj["error"]
    assert not marker.exists()


def test_non_state_dict_pickles_are_refused(tmp_path):
    pt = _checkpoint(tmp_path / "m.pt", pickle.dumps([1, 2], protocol=2))
    with pytest.raises(InputError, match="must be a state_dict"):
        read_state_dict_restricted(pt)
    bad = _checkpoint(tmp_path / "b.pt", b"\x80\x02}q\x00")           # truncated
    with pytest.raises(InputError, match="not a readable state_dict"):
        read_state_dict_restricted(bad)
    (tmp_path / "t.pt").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a torch zip checkpoint"):
        read_state_dict_restricted(tmp_path / "t.pt")
    with pytest.raises(InputError, match=r"t\.pt: .*(refused|not a torch)"):    # torch.load, where installed
        read_state_dict(tmp_path / "t.pt")


def test_a_pickle_cannot_change_the_reader(tmp_path):
    """BUILD on a looked-up global (here: the DoubleStorage marker's dtype) stays inside that load."""
    before = read_state_dict_restricted(DATA / "s1.pt")
    payload = b"\x80\x02ctorch\nDoubleStorage\nN}X\x05\x00\x00\x00dtypeX\x02\x00\x00\x00f4s\x86b."
    with pytest.raises(InputError, match="must be a state_dict"):
        read_state_dict_restricted(_checkpoint(tmp_path / "m.pt", payload))
    after = read_state_dict_restricted(DATA / "s1.pt")          # still read as float64, not float32
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_out_of_bounds_view_is_refused(tmp_path):
    """A tensor whose size/stride reach past its storage is refused (no read outside the buffer)."""
    src = (DATA / "s1.pt").read_bytes()
    with zipfile.ZipFile(io.BytesIO(src)) as z:
        files = {n: z.read(n) for n in z.namelist()}
    pkl = files["s1/data.pkl"]
    files["s1/data.pkl"] = pkl.replace(b"K\x05K\x04\x86", b"K\x05K\x50\x86", 1)   # size (5, 4) -> (5, 80)
    assert files["s1/data.pkl"] != pkl
    with zipfile.ZipFile(tmp_path / "m.pt", "w") as z:
        for n, b in files.items():
            z.writestr(n, b)
    with pytest.raises(InputError, match="reaches entry"):
        read_state_dict_restricted(tmp_path / "m.pt")


def test_config_lookup_and_cli(tmp_path):
    """``--peer-config`` (after the command too), ``MODEL.yaml`` or ``config.yaml`` beside it; none: exit 3."""
    shutil.copy(DATA / "s1.pt", tmp_path / "model.pt")
    o = check(invoke("info", tmp_path / "model.pt", "--json"), {3})
    assert "model.pt" in o.obj["error"] and "--peer-config" in o.obj["error"]
    got = check(invoke("info", tmp_path / "model.pt", "--peer-config", DATA / "s1.yaml", "--json"), {0}).obj
    assert got == check(invoke("--peer-config", DATA / "s1.yaml", "info", tmp_path / "model.pt", "--json"), {0}).obj
    if SHARED_S1.is_file():
        want = check(invoke("info", SHARED_S1, "--json"), {0}).obj
        assert {k: v for k, v in got.items() if k != "network"} == {k: v for k, v in want.items() if k != "network"}
    shutil.copy(DATA / "s1.yaml", tmp_path / "config.yaml")
    assert_identical(load_peer(tmp_path / "model.pt"), load_network(DATA / "s1.pt"))
    other = read_peer_config(DATA / "s1.yaml")
    other["network_layout"]["bias_times"] = [0.5]
    (tmp_path / "other.yaml").write_text(json.dumps(other))     # JSON is yaml
    with use_peer_config(tmp_path / "other.yaml"):              # an explicit config wins over the one beside
        assert load_network(tmp_path / "model.pt").constants.tolist() == [0.5]
    (tmp_path / "model.yaml").write_text("network_layout: [1, 2]\n")
    with pytest.raises(InputError, match=r"model\.yaml: network_layout = 'list': must be a mapping"):
        load_network(tmp_path / "model.pt")


def test_yaml_errors_name_the_file(tmp_path):
    (tmp_path / "c.yaml").write_text("network_layout: {n_biases: [1\n")
    with pytest.raises(InputError, match=r"c\.yaml: yaml = .*malformed yaml"):
        read_peer_config(tmp_path / "c.yaml")
    assert read_peer_config(DATA / "s1.yaml")["network_layout"]["bias_times"] == [0.9]


def test_cli_bad_config_field(tmp_path):
    cfg = read_peer_config(DATA / "s1.yaml")
    del cfg["network_layout"]["n_biases"]
    (tmp_path / "c.yaml").write_text(json.dumps(cfg))
    o = check(invoke("info", DATA / "s1.pt", "--peer-config", tmp_path / "c.yaml"), {3})
    assert "c.yaml: network_layout.n_biases = None: missing required peer config field" in o.err


def test_saved_module_is_refused(tmp_path):
    """``torch.save(net)`` (how the peer saves) needs the module's class: refused by both readers."""
    torch = pytest.importorskip("torch")
    torch.save(torch.nn.Linear(2, 2), tmp_path / "m.pt")
    for reader in (read_state_dict, read_state_dict_restricted):
        with pytest.raises(InputError, match=r"data\.pkl = 'torch\.nn\.modules\.linear\.Linear': refused"):
            reader(tmp_path / "m.pt")
