"""NIR export/import (issue 15): the identity on every bundled and converted network, files that
``nir.read`` accepts, the meaning of the exported graph checked by an independent time-stepped
simulation, and refusals naming the node."""
from __future__ import annotations

import sys
from pathlib import Path

import nir
import numpy as np
import pytest

from srmverify.convert import convert_relu_to_snn
from srmverify.data.digits_model import load_digits_model
from srmverify.errors import InputError
from srmverify.formats import load_network, save_network
from srmverify.formats.nir_net import nir_to_snn, snn_to_nir
from srmverify.network import SNN, Affine
from srmverify.simulate import simulate
from srmverify.simulate.nir_steps import simulate_steps
from srmverify_cli.main import run

sys.path.insert(0, str(Path(__file__).parent))
from engine_nets import random_snn  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "srmverify" / "data"
FIELDS = ("n_inputs", "constants", "thresholds", "src", "dst", "weight", "delay", "outputs", "names")


def assert_identical(a: SNN, b: SNN) -> None:
    for k in FIELDS:
        x, y = np.asarray(getattr(a, k)), np.asarray(getattr(b, k))
        assert x.shape == y.shape and np.array_equal(x, y), k   # bit-for-bit, not approximately
    for k in ("encoder", "decoder"):
        x, y = getattr(a, k), getattr(b, k)
        assert (x is None) == (y is None), k
        if x is not None:
            assert np.array_equal(x.offset, y.offset) and np.array_equal(x.scale, y.scale), k


def roundtrip(net: SNN, tmp_path: Path) -> SNN:
    path = tmp_path / "net.nir"
    save_network(net, path)
    graph = nir.read(str(path))                      # the file is plain NIR
    allowed = {"Input", "Output", "Linear", "Delay", "I", "IF"}
    assert {type(n).__name__ for n in graph.nodes.values()} <= allowed
    return load_network(path)


def bundled_snns() -> list[Path]:
    out = []
    for p in sorted(DATA.rglob("*.json")):
        if '"kind": "snn"' in p.read_text()[:2000] or '"kind":"snn"' in p.read_text()[:2000]:
            out.append(p)
    return out


@pytest.mark.parametrize("path", bundled_snns(), ids=lambda p: p.name)
def test_bundled_roundtrip_is_identity(path, tmp_path):
    net = load_network(path)
    assert_identical(net, roundtrip(net, tmp_path))


def test_there_are_bundled_snns():
    assert len(bundled_snns()) >= 3


def test_converted_networks_roundtrip(tmp_path):
    relu = load_network(DATA / "examples" / "relu_2_8_3.json")
    snn, _ = convert_relu_to_snn(relu, [[0, 1], [0, 1]])
    assert_identical(snn, roundtrip(snn, tmp_path))
    digits = load_digits_model()
    snn, _ = convert_relu_to_snn(digits, np.tile([0.0, 1.0], (64, 1)))
    back = roundtrip(snn, tmp_path)
    assert_identical(snn, back)
    x = np.random.default_rng(0).random((5, 64))
    assert np.array_equal(simulate(snn, x), simulate(back, x))


@pytest.mark.parametrize("seed", range(4))
def test_random_networks_roundtrip(seed, tmp_path):
    rng = np.random.default_rng(seed)
    net = random_snn(rng, (3, 4, 2, 2), delays=seed % 2 == 0, constants=seed % 3, encoder=True, decoder=True)
    w = net.weight.copy()
    w[::5] = 0.0                                       # zero-weight synapses survive as synapses
    # outputs out of order, from several levels and an input; a skip synapse with its own delay
    net = net.with_(weight=w, outputs=[net.n_total - 1, net.first_neuron, 0],
                    decoder=Affine(rng.random(3), rng.uniform(0.5, 2, 3)))
    assert_identical(net, roundtrip(net, tmp_path))


def test_cli_convert_to_nir_and_simulate(tmp_path, capsys):
    src = DATA / "examples" / "snn_2_3_2.json"
    out = tmp_path / "n.nir"
    assert run(["convert", str(src), "--to", "nir", "-o", str(out)]) == 0
    capsys.readouterr()
    assert run(["simulate", str(out), "--input", "0.1,0.2", "--json"]) == 0
    a = capsys.readouterr().out
    assert run(["simulate", str(src), "--input", "0.1,0.2", "--json"]) == 0
    assert a == capsys.readouterr().out
    relu = DATA / "examples" / "relu_2_8_3.json"
    assert run(["convert", str(relu), "--to", "nir", "-o", str(out)]) == 2        # a ReLU net needs --box
    assert run(["convert", str(relu), "--to", "nir", "--box", "0:1", "-o", str(out)]) == 0
    assert run(["convert", str(src), "--to", "onnx", "-o", str(out)]) == 2        # --to is a choice
    for dt in ("0", "-1", "nan"):                                                  # a bad time step: exit 3
        assert run(["convert", str(src), "--to", "nir", "--nir-profile", "cubalif", "--dt", dt, "-o", str(out)]) == 3


def stepped_times(net: SNN, x: np.ndarray, dt: float, profile: str = "exact",
                  single_spike: bool = True) -> tuple[np.ndarray, np.ndarray]:
    graph = snn_to_nir(net, profile, dt)
    t = net.encode(x)
    inputs = {"input": t}
    if net.n_constants:
        inputs["constants"] = np.broadcast_to(net.constants, (len(x), net.n_constants))
    first, count = simulate_steps(graph, inputs, dt=dt, t_end=6.0, t_start=-1.0,
                                  single_spike=single_spike)
    return first["output"], count["output"]


def test_exported_graph_means_the_srm_network():
    """An independent clock-driven reading of the exported graph spikes first at the exact times,
    up to O(dt) (input and delay rounding plus one step per level)."""
    rng = np.random.default_rng(3)
    net = random_snn(rng, (2, 3, 2), positive=True, delays=True)
    x = rng.random((6, 2))
    exact = simulate(net, x)
    for dt in (0.02, 0.005):
        t, _ = stepped_times(net, x, dt)
        assert np.all(np.isfinite(t))
        err = np.abs(t - exact).max()
        assert err < 12 * dt, (dt, err)
    # NIR's IF resets and spikes again: without the single-spike semantics the times go wrong
    t, count = stepped_times(net, x, 0.005, single_spike=False)
    assert count.max() > 1 and np.abs(t - exact).max() > 0.1
    # the cubalif profile is the same meaning up to O(dt) and O(t / tau)
    t, _ = stepped_times(net, x, 0.005, "cubalif")
    assert np.abs(t - exact).max() < 12 * 0.005


def test_refuses_non_srm_graphs(tmp_path, capsys):
    net = load_network(DATA / "examples" / "snn_2_3_2.json")
    g = snn_to_nir(net)
    lif = dict(g.nodes)
    lif["level1"] = nir.LIF(tau=np.ones(3), r=np.ones(3), v_leak=np.zeros(3), v_threshold=np.ones(3))
    with pytest.raises(InputError, match="node level1"):
        nir_to_snn(nir.NIRGraph(lif, g.edges, metadata=g.metadata))
    r2 = dict(g.nodes)
    r2["level1"] = nir.IF(r=np.full(3, 2.0), v_threshold=np.ones(3))
    with pytest.raises(InputError, match=r"node level1\.r"):
        nir_to_snn(nir.NIRGraph(r2, g.edges, metadata=g.metadata))
    # an IF fed straight by a Linear is a current jump, not the ramp response
    edges = [(a, b) for a, b in g.edges if b != "level1.I" and a != "level1.I"]
    edges += [(a, "level1") for a, b in g.edges if b == "level1.I"]
    nodes = {k: v for k, v in g.nodes.items() if k != "level1.I"}
    with pytest.raises(InputError, match="node level1"):
        nir_to_snn(nir.NIRGraph(nodes, edges, metadata=g.metadata, type_check=False))
    # the approximation profile is refused on reading, through the CLI with exit 3
    path = tmp_path / "c.nir"
    nir.write(str(path), snn_to_nir(net, "cubalif", 1e-3))
    assert run(["simulate", str(path), "--input", "0,0"]) == 3
    assert "profile" in capsys.readouterr().err
    bad = tmp_path / "bad.nir"
    bad.write_text("not hdf5")
    assert run(["info", str(bad)]) == 3


def test_foreign_graph_without_metadata():
    """A hand-written graph of the form, no srmverify metadata: Input → Delay → Linear → I → IF."""
    W, d, theta = np.array([[1.0, 2.0]]), np.array([0.0, 0.25]), np.array([1.5])
    g = nir.NIRGraph({"in": nir.Input(np.array([2])), "d": nir.Delay(d), "w": nir.Linear(W),
                      "i": nir.I(np.ones(1)), "n": nir.IF(np.ones(1), theta), "out": nir.Output(np.array([1]))},
                     [("in", "d"), ("d", "w"), ("w", "i"), ("i", "n"), ("n", "out")])
    net = nir_to_snn(g)
    ref = SNN.layered(W[None], [theta], delays=d[None, None])
    x = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    assert np.array_equal(simulate(net, x), simulate(ref, x))
    # by hand: arrivals 0 and 0.25, P = t + 2 (t - 0.25) = 1.5 at t = 2/3
    assert simulate(net, x[:1])[0, 0] == pytest.approx(2 / 3)


def test_encoder_decoder_survive(tmp_path):
    net = SNN.layered([[[1.0, 0.5]]], [[1.0]], encoder=Affine([0.5], [2.0]), decoder=Affine([1.0], [-0.5]),
                      constants=[0.0])
    assert_identical(net, roundtrip(net, tmp_path))


def test_cubalif_profiles_for_simulators_without_delay_or_per_neuron_thresholds():
    net = load_network(DATA / "shared_3x3.json")            # no delays
    g = snn_to_nir(net, "cubalif-snntorch", 1e-3)
    kinds = {type(n).__name__ for n in g.nodes.values()}
    assert "Delay" not in kinds and "I" not in kinds and "CubaLIF" in kinds
    lif = g.nodes["level1"]
    assert np.all(lif.v_threshold == 1.0)                   # thresholds folded into the weights
    W = g.nodes["level1.from.input.linear"].weight
    lv = net.levels[0]
    np.testing.assert_allclose(W * lv.thresholds[:, None], lv.W, rtol=1e-15)
    assert np.allclose(lif.r, lif.tau_mem / 1e-4)           # what snnTorch's importer asserts


def test_refuses_dangling_nodes_and_malformed_metadata():
    net = load_network(DATA / "examples" / "snn_2_3_2.json")
    g = snn_to_nir(net)
    nodes = {**g.nodes, "stray": nir.Linear(np.ones((1, 2)))}
    with pytest.raises(InputError, match="node stray"):
        nir_to_snn(nir.NIRGraph(nodes, g.edges + [("input", "stray")], metadata=g.metadata))
    with pytest.raises(InputError, match="metadata.srmverify.names"):
        nir_to_snn(nir.NIRGraph(g.nodes, g.edges, metadata={"srmverify": '{"names": 3}'}))
    with pytest.raises(InputError, match="version"):
        nir_to_snn(nir.NIRGraph(g.nodes, g.edges, metadata={"srmverify": '{"version": 9}'}))
