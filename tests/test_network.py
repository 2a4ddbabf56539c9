"""Network models: SNN structure (ids, levels, depth, graph), validation in the library, ReLUNet,
and the `info` summary (its always-fires guarantee is checked against exact simulation)."""
from __future__ import annotations

import numpy as np
import pytest

from srmverify.errors import InputError
from srmverify.network import SNN, Affine, ReLUNet
from srmverify.network.describe import always_fires, describe
from srmverify.simulate import run_exact


def skip_net() -> SNN:
    # inputs 0, 1; constant 2; neurons 3 (from 0, 1, 2), 4 (from 3, 0 with delay), 5 (from 4, 3, 1)
    return SNN(2, [0.5], [1.0, 2.0, 0.5], src=[4, 3, 1, 0, 1, 2, 3, 0], dst=[5, 5, 5, 4, 3, 3, 4, 3],
               weight=[1.0, -1.0, 2.0, 0.5, 1.0, 1.0, 1.0, 1.0], delay=[0, 0, 0, 0.25, 0, 0, 0, 0], outputs=[5, 4])


def test_ids_sorting_and_incoming():
    net = skip_net()
    assert (net.n_inputs, net.n_constants, net.first_neuron, net.n_total, net.n_synapses) == (2, 1, 3, 6, 8)
    assert net.dst.tolist() == [3, 3, 3, 4, 4, 5, 5, 5]
    assert net.src.tolist() == [0, 1, 2, 0, 3, 1, 3, 4]      # sorted by (dst, src), parameters follow
    assert net.weight.tolist() == [1.0, 1.0, 1.0, 0.5, 1.0, 2.0, -1.0, 1.0]
    assert net.delay.tolist()[3] == 0.25
    assert net.src[net.incoming(4)].tolist() == [0, 3] and net.threshold(4) == 2.0
    assert net.names == ("x0", "x1", "c0", "n0", "n1", "n2")


def test_depth_levels_and_graph():
    net = skip_net()
    assert net.depth.tolist() == [0, 0, 0, 1, 2, 3]
    lv = net.levels
    assert [x.neurons.tolist() for x in lv] == [[3], [4], [5]]
    assert lv[1].sources.tolist() == [0, 3] and lv[1].W.tolist() == [[0.5, 1.0]] and lv[1].D.tolist() == [[0.25, 0.0]]
    assert lv[2].sources.tolist() == [1, 3, 4] and lv[2].thresholds.tolist() == [0.5]
    g = net.graph()
    assert g.number_of_edges() == 8 and g.edges[0, 4]["delay"] == 0.25 and g.nodes[2]["kind"] == "constant"
    assert not net.all_weights_positive


def test_levels_dense_view_and_shared_order():
    rng = np.random.default_rng(0)
    W = [rng.normal(size=(3, 4)), rng.normal(size=(2, 4))]
    shared = SNN.layered(W, [[1.0] * 3, [1.0] * 2], [np.tile([0.0, 0.5, 1.0, 0.0], (3, 1)), None], constants=[0.0])
    assert [lv.shared_order for lv in shared.levels] == [True, True]
    per_synapse = SNN.layered(W, [[1.0] * 3, [1.0] * 2], [rng.uniform(0, 1, (3, 4)), None], constants=[0.0])
    assert [lv.shared_order for lv in per_synapse.levels] == [False, True]
    for net in (shared, per_synapse):
        for lv in net.levels:
            for i, v in enumerate(lv.neurons):
                sl = net.incoming(v)
                cols = np.searchsorted(lv.sources, net.src[sl])
                assert np.array_equal(lv.W[i, cols], net.weight[sl]) and np.array_equal(lv.D[i, cols], net.delay[sl])
                assert lv.present[i].sum() == sl.stop - sl.start


def test_layered_constructor_columns():
    net = SNN.layered([[[1.0, 3.0, 0.5]], [[2.0, -1.0]]], [[1.0], [0.5]], constants=[0.0])
    # layer 2's inputs: layer 1's neuron then the constant
    assert net.src.tolist() == [0, 1, 2, 2, 3] and net.dst.tolist() == [3, 3, 3, 4, 4]
    assert net.weight.tolist() == [1.0, 3.0, 0.5, -1.0, 2.0]
    assert net.outputs.tolist() == [4] and net.names[3:] == ("L1_0", "L2_0")


def test_with_and_encode_decode():
    net = skip_net().with_(encoder=Affine([1.0, 0.0], [2.0, 1.0]), decoder=Affine([0.0, 1.0], [0.5, -1.0]))
    assert net.encode([[1.0, 2.0]]).tolist() == [[3.0, 2.0]]
    assert net.decode([[1.0, np.inf]]).tolist() == [[2.0, np.inf]]
    with pytest.raises(InputError, match="threshold must be > 0"):
        net.with_(thresholds=[1.0, 0.0, 1.0])


ERRORS = [
    (dict(n_inputs=0), "inputs = 0"),
    (dict(thresholds=[1.0, -1.0, 1.0]), "neuron n1.threshold = -1.0: threshold must be > 0"),
    (dict(delay=[0, 0, 0, -0.25, 0, 0, 0, 0]), "synapse x0->n1.delay = -0.25: delay must be >= 0"),
    (dict(weight=[1.0, np.nan, 2, 0.5, 1, 1, 1, 1]), "= nan: must be a finite number"),
    (dict(constants=[np.inf]), "constants[0] = inf: must be a finite number"),
    (dict(src=[4, 3, 1, 0, 1, 2, 3, 9]), "synapse source = 9: unknown neuron id"),
    (dict(dst=[5, 5, 5, 4, 3, 3, 4, 7]), "synapse target = 7: unknown neuron id"),
    (dict(dst=[5, 5, 5, 4, 3, 3, 4, 1]), "synapse target = 'x1': inputs and constants cannot receive synapses"),
    # (with_ keeps the stored (dst, src) order: dst = [3, 3, 3, 4, 4, 5, 5, 5])
    (dict(src=[0, 1, 2, 0, 5, 1, 3, 4]), "synapse n2->n1 = 'order'"),
    (dict(src=[0, 1, 2, 0, 3, 1, 3, 3]), "synapse n0->n2 = 'duplicate'"),
    (dict(outputs=[]), "outputs = []: the network has no outputs"),
    (dict(outputs=[6]), "outputs = 6: unknown neuron id"),
    (dict(names=("a", "b")), "names = 2"),
    (dict(names=("a", "b", "c", "d", "e", "a")), "names = 'a': duplicate neuron name"),
    (dict(thresholds=[1.0, 1.0, 1.0, 1.0], names=()), "neuron n3 = 'no synapses'"),
    (dict(encoder=Affine([0.0], [1.0])), "encoder.offset = 'length 1': expected 2 entries"),
    (dict(decoder=Affine([0.0, 0.0], [1.0, 0.0])), "decoder.scale[1] = 0.0"),
]


@pytest.mark.parametrize("change,message", ERRORS, ids=[m for _, m in ERRORS])
def test_validation_errors(change, message):
    with pytest.raises(InputError) as e:
        skip_net().with_(source="net.json", **change)
    assert str(e.value).startswith("net.json: ") and message in str(e.value)
    assert "\n" not in str(e.value)


def test_no_neurons_and_layered_errors():
    with pytest.raises(InputError, match="no computing neuron"):
        SNN(1, [], [], [], [], [], [], [0])
    with pytest.raises(InputError, match="no layers"):
        SNN.layered([], [])
    with pytest.raises(InputError, match=r"layers\[0\].weights"):
        SNN.layered([[[1.0]]], [[1.0]], constants=[0.0])


def test_relu_net():
    net = ReLUNet([([[1.0, -1.0], [0.5, 0.5]], [0.0, -1.0]), ([[1.0, 2.0]], [0.25])])
    assert (net.n_inputs, net.n_outputs, net.widths, net.n_hidden) == (2, 1, [2, 2, 1], 2)
    y, pre = net.evaluate([[1.0, 0.5], [0.0, 4.0]], return_preactivations=True)
    assert y.tolist() == [[0.75], [2.25]] and pre[0].tolist() == [[0.5, -0.25], [-4.0, 1.0]]
    with pytest.raises(ValueError):  # parameters are frozen
        net.layers[0][0][0, 0] = 5.0
    for layers, msg in [([], "no layers"), ([([[1.0]], [0.0, 1.0])], "biases"), ([([[np.inf]], [0.0])], "inf"),
                        ([([[1.0]], [0.0]), ([[1.0, 1.0]], [0.0])], "columns")]:
        with pytest.raises(InputError, match=msg):
            ReLUNet(layers)


def test_always_fires_is_sound():
    """`info`'s guarantee: a neuron marked always-firing fires on every sampled input (exactly)."""
    rng = np.random.default_rng(4)
    for _ in range(20):
        ws = [rng.normal(0.3, 1.0, (4, 3 + 1)), rng.normal(0.3, 1.0, (3, 4 + 1))]
        net = SNN.layered(ws, [rng.uniform(0.1, 1, 4), rng.uniform(0.1, 1, 3)], constants=[0.0])
        sure = always_fires(net)
        for x in rng.uniform(-1, 1, (5, 3)):
            times = run_exact(net, x).times[net.first_neuron:]
            assert all(t is not None for t, s in zip(times, sure) if s)
    positive = SNN.layered([np.abs(ws[0]) + 0.1, np.abs(ws[1]) + 0.1], [[1.0] * 4, [1.0] * 3], constants=[0.0])
    assert always_fires(positive).all()


def test_describe():
    d = describe(skip_net())
    assert (d["inputs"], d["constants"], d["neurons"], d["outputs"], d["synapses"], d["depth"]) == (2, 1, 3, 2, 8, 3)
    assert d["weights"] == {"positive": 7, "negative": 1, "zero": 0} and d["delays"]
    assert d["level_sizes"] == [1, 1, 1] and not d["all_weights_positive"]
    # n2 has a negative synapse, but every source surely fires and its total weight is 2 > 0
    assert d["always_fires"] is True and d["may_never_fire"] == []
    d = describe(skip_net().with_(weight=[1.0, 1.0, 1.0, 0.5, 1.0, 2.0, -3.0, 1.0]))
    assert d["always_fires"] is False and d["may_never_fire"] == ["n2"]
    r = describe(ReLUNet([([[1.0, -1.0], [0.0, 0.5]], [0.0, -1.0]), ([[1.0, 2.0]], [0.25])]))
    assert r == {"kind": "relu", "inputs": 2, "outputs": 1, "widths": [2, 2, 1], "hidden_neurons": 2,
                 "parameters": 9, "weights": {"positive": 4, "negative": 1, "zero": 1}}
