"""Compositional equivalence certificates: honest conversions are accepted (and their JSON re-checks),
every kind of tampering is rejected — including changes of one unit in the last place."""
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from srmverify.convert import certify, check_certificate, convert_relu_to_snn
from srmverify.errors import InputError
from srmverify.network import Affine, ReLUNet
from srmverify.simulate import relu_exact, simulate_exact
import engine_nets  # noqa: E402  (tests/ on sys.path: conftest.py)


def random_relu(rng, widths):
    return engine_nets.random_relu(rng, widths, weight_scale=1.0, bias_scale=1.0)


def converted(seed=1, widths=(3, 5, 4, 2)):
    rng = np.random.default_rng(seed)
    relu = random_relu(rng, list(widths))
    lo = rng.uniform(-2, 1, size=widths[0])
    box = np.stack([lo, lo + 1.5], axis=1)
    snn, _ = convert_relu_to_snn(relu, box)
    return relu, box, snn


def ulp_up(x):
    return float(np.nextafter(x, np.inf))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), depth=st.integers(1, 4), width=st.integers(1, 6))
def test_honest_conversions_are_accepted(seed, depth, width):
    rng = np.random.default_rng(seed)
    widths = [int(rng.integers(1, 4))] + [width] * (depth - 1) + [2]
    relu, box, snn = converted(seed, widths)
    cert = certify(snn, relu, box)
    assert cert.accepted, cert.failures
    assert check_certificate(json.loads(json.dumps(cert.to_dict())), snn, relu).accepted


# --- every kind of tamper: (description, function snn -> tampered snn) --------------------------
def _syn(snn, src_prefix, dst_prefix):
    n = snn.names
    return [k for k in range(snn.n_synapses)
            if n[snn.src[k]].startswith(src_prefix) and n[snn.dst[k]].startswith(dst_prefix)]


def _bump(x, amount):
    return ulp_up(x) if amount == "ulp" else x + amount


def _tamper_synapse(field, src, dst, amount):
    """Change the ``field`` (weight/delay) of the first synapse ``src* -> dst*``."""
    def f(snn):
        k = _syn(snn, src, dst)[0]
        arr = getattr(snn, field).copy()
        arr[k] = _bump(arr[k], amount)
        return snn.with_(**{field: arr})
    return f


def _tamper_threshold(prefix, amount):
    def f(snn):
        v = next(i for i, nm in enumerate(snn.names) if nm.startswith(prefix)) - snn.first_neuron
        th = snn.thresholds.copy()
        th[v] = _bump(th[v], amount)
        return snn.with_(thresholds=th)
    return f


def _tamper_decoder(snn):
    off = snn.decoder.offset.copy()
    off[0] = ulp_up(off[0])
    return snn.with_(decoder=Affine(off, snn.decoder.scale))


def _tamper_encoder(snn):
    off = snn.encoder.offset.copy()
    off[0] += 2 ** -30
    return snn.with_(encoder=Affine(off, snn.encoder.scale))


TAMPERS = {
    "input weight +ulp": _tamper_synapse("weight", "x", "z1_", "ulp"),
    "input weight +1e-9": _tamper_synapse("weight", "x", "z1_", 1e-9),
    "hidden weight +ulp": _tamper_synapse("weight", "z1_", "z2_", "ulp"),
    "kink-spike weight +ulp": _tamper_synapse("weight", "k1_", "z2_", "ulp"),
    "reference weight +ulp": _tamper_synapse("weight", "r", "z2_", "ulp"),
    "kink weight +ulp": _tamper_synapse("weight", "z1_", "k1_", "ulp"),
    "kink reference delay +ulp": _tamper_synapse("delay", "r", "k1_", "ulp"),
    "kink reference delay -0.001": _tamper_synapse("delay", "r", "k1_", -0.001),
    "value synapse delay +1e-6": _tamper_synapse("delay", "z1_", "z2_", 1e-6),
    "reference delay +ulp": _tamper_synapse("delay", "r", "z1_", "ulp"),
    "output threshold +ulp": _tamper_threshold("z3_", "ulp"),
    "hidden threshold +ulp": _tamper_threshold("z1_", "ulp"),
    "kink threshold +ulp": _tamper_threshold("k1_", "ulp"),
    "output threshold -1e-3": _tamper_threshold("z3_", -1e-3),
    "decoder offset +ulp": _tamper_decoder,
    "encoder offset +2^-30": _tamper_encoder,
}


@pytest.mark.parametrize("kind", sorted(TAMPERS))
def test_every_tamper_kind_is_rejected(kind):
    relu, box, snn = converted()
    assert certify(snn, relu, box).accepted
    bad = TAMPERS[kind](snn)
    cert = certify(bad, relu, box)
    assert not cert.accepted and cert.first_failure is not None
    assert "failed at" in str(cert.first_failure)
    # the stored honest certificate does not re-check against the tampered network either
    assert not check_certificate(certify(snn, relu, box).to_dict(), bad, relu).accepted


def test_tamper_changes_the_function_somewhere():
    """Sanity: the tampers the certificate rejects really change the realised map (exact oracle)."""
    relu, box, snn = converted()
    rng = np.random.default_rng(0)
    xs = [rng.uniform(box[:, 0], box[:, 1]).tolist() for _ in range(30)]
    for kind in ("input weight +1e-9", "kink reference delay -0.001", "output threshold -1e-3"):
        bad = TAMPERS[kind](snn)
        assert any(simulate_exact(bad, x) != relu_exact(relu, x) for x in xs), kind


def test_relu_side_changes_are_rejected_too():
    relu, box, snn = converted()
    W, b = relu.layers[1]
    W2 = W.copy()
    W2[0, 0] = ulp_up(W2[0, 0])
    other = ReLUNet([relu.layers[0], (W2, b), relu.layers[2]])
    assert not certify(snn, other, box).accepted


def test_wider_box_is_rejected_and_smaller_box_accepted():
    relu, box, snn = converted()
    inner = box.copy()
    inner[:, 1] = (box[:, 0] + box[:, 1]) / 2
    assert certify(snn, relu, inner).accepted
    outer = box.copy()
    outer[:, 1] += 50.0
    assert not certify(snn, relu, outer).accepted


def test_stored_certificate_numbers_must_match():
    relu, box, snn = converted()
    d = json.loads(json.dumps(certify(snn, relu, box).to_dict()))
    d["layers"][0]["offset"][0] = "12345"
    cert = check_certificate(d, snn, relu)
    assert not cert.accepted and cert.first_failure.check == "stored certificate"
    with pytest.raises(InputError, match="format"):
        check_certificate({"format": "other"}, snn, relu)


def test_structural_mismatches_are_rejections():
    relu, box, snn = converted()
    small = ReLUNet([relu.layers[0], relu.layers[1]])
    cert = certify(snn, small, box)
    assert not cert.accepted and cert.first_failure.check in ("correspondence", "outputs")
    other_relu, other_box, other_snn = converted(seed=7, widths=(2, 3, 1))
    assert certify(other_snn, relu, box).first_failure.check == "shape"


@pytest.mark.parametrize("method", ["symbolic", "lp"])
def test_tighter_bounds_conversions_are_certified(method):
    """Stability claims of float methods are kept only when proven exactly, so certificates accept."""
    rng = np.random.default_rng(5)
    relu = random_relu(rng, [3, 10, 10, 2])
    box = np.array([[0.0, 0.05]] * 3)
    snn, rep = convert_relu_to_snn(relu, box, bounds=method)
    cert = certify(snn, relu, box)
    assert cert.accepted, cert.failures
    assert rep.stable_proven <= rep.stable_claimed
    stored = json.loads(json.dumps(cert.to_dict()))
    assert check_certificate(stored, snn, relu).accepted


def test_symbolic_bounds_remove_a_kink_with_an_exact_proof():
    relu = ReLUNet([([[1.0], [1.0]], [0.0, 0.0]), ([[1.0, -1.0], [1.0, 1.0]], [0.125, -0.5]), ([[1.0, 1.0]], [0.0])])
    box = np.array([[0.0, 1.0]])
    snn, rep = convert_relu_to_snn(relu, box, bounds="symbolic")
    assert rep.stable_proven == 1 and "k2_0" not in snn.names          # z2_0 = 1/8 proven active
    cert = certify(snn, relu, box)
    assert cert.accepted and cert.layers[1]["stability_proofs"] == {"0": "active"}
    assert convert_relu_to_snn(relu, box, bounds="interval")[1].kink_neurons == rep.kink_neurons + 1


def test_an_unproven_stability_claim_is_rejected(monkeypatch):
    """A converter that drops the kink of an unstable unit (a false claim) is caught."""
    import srmverify.convert.relu_to_snn as r2s
    from srmverify.convert.dyadic import Dyadic

    relu = ReLUNet([([[1.0], [1.0]], [0.0, 0.0]), ([[-1.0, 0.5], [1.0, 1.0]], [0.125, -0.5]), ([[1.0, 1.0]], [0.0])])
    box = np.array([[0.0, 1.0]])
    real = r2s.exact_interval_bounds

    def lying(net, b, candidates=None):
        bounds, proofs = real(net, b, candidates)
        lo, hi = bounds[1]
        bounds[1] = (Dyadic.zeros(lo.shape).where(np.array([True, False]), lo), hi)   # "z2_0 >= 0"
        return bounds, proofs

    monkeypatch.setattr(r2s, "exact_interval_bounds", lying)
    snn, _ = convert_relu_to_snn(relu, box)
    assert "k2_0" not in snn.names
    assert simulate_exact(snn, [1.0]) != relu_exact(relu, [1.0])           # the claim is false: wrong SNN
    cert = certify(snn, relu, box)
    assert not cert.accepted
    assert "unit proven stable or has a kink neuron" in {f.check for f in cert.failures}
