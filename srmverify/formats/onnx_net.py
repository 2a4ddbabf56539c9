"""ONNX import and export of feed-forward ReLU networks.

Import follows the graph from its single non-constant input through a chain of affine operators
and ``Relu``. Affine operators: ``Gemm``, ``MatMul``, ``Add``/``Sub``/``Mul``/``Div`` by
constants (input normalisation), ``BatchNormalization`` (inference form), ``Conv``,
``AveragePool`` and ``GlobalAveragePool`` (written as exact dense matrices: only for small
models, see :data:`MAX_DENSE_ENTRIES`). Shape-only operators (``Flatten``, ``Reshape``,
``Squeeze``, ``Unsqueeze``, ``Identity``, ``Dropout`` in inference) are accepted because they
keep the row-major order of the values of a single sample. Weights come from initializers and
``Constant`` nodes (``Transpose``, ``Cast`` and the same shape operators are folded on
constants). Every value is converted to float64 exactly (float32 -> float64 is exact); the
affine maps are then composed in float64. Anything else raises
:class:`~srmverify.errors.UnsupportedNetwork` naming the operator and node. A network value or
a dense matrix larger than :data:`MAX_DENSE_ENTRIES` is refused with a message naming its size,
before any memory is taken. ``.onnx.gz`` files are read transparently; external data must lie
in the model's directory.

Export writes one ``Gemm`` (``transB=1``, the weight matrix stored as it is) per layer with
``Relu`` between them, as DOUBLE tensors, so every float64 parameter survives exactly; the
input has a symbolic batch dimension (``[batch, n]``). onnxruntime runs these models.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NoReturn

import numpy as np

from ..errors import InputError, UnsupportedNetwork
from .files import atomic_write
from ..network import SNN, ReLUNet
from .files import read_bytes

#: Operators that only reshape a single sample (row-major order unchanged).
_SHAPE_OPS = {"Flatten", "Reshape", "Squeeze", "Unsqueeze", "Identity", "Dropout"}
#: Largest dense matrix (rows x columns) an operator may become; beyond it the model is refused.
MAX_DENSE_ENTRIES = 20_000_000
_SUPPORTED = ("Gemm, MatMul, Add, Sub, Mul, Div, BatchNormalization, Conv, AveragePool, GlobalAveragePool, "
              "Relu, Flatten, Reshape, Squeeze, Unsqueeze, Identity, Dropout, Constant")
#: the refusal of the node being read: raises :class:`UnsupportedNetwork` naming it
_Bad = Callable[[str], NoReturn]


def _guard(rows: int, cols: int, what: str, src: str, where: str) -> None:
    """Refuse a dense ``rows x cols`` matrix larger than :data:`MAX_DENSE_ENTRIES`."""
    if rows * cols > MAX_DENSE_ENTRIES:
        raise UnsupportedNetwork(src, where, f"{rows} x {cols}",
                                 f"{what} would make a {rows} x {cols} dense matrix (more than "
                                 f"{MAX_DENSE_ENTRIES} entries): only small models are supported")


@dataclass
class _Act:
    """A tensor that depends on the input: its values (row-major) are ``W @ h + b`` where ``h``
    is the output of ReLU layer ``layer`` (0 = the network input); ``W = None`` is the identity
    and a 1-D ``W`` the diagonal matrix ``diag(W)`` (so weights that follow a ReLU or an
    elementwise scaling are taken as they are, without a product)."""

    shape: tuple[int, ...]
    layer: int
    W: np.ndarray | None
    b: np.ndarray

    def matrix(self, src: str, where: str) -> np.ndarray:
        if self.W is None or self.W.ndim == 1:
            _guard(len(self.b), len(self.b), "the diagonal map", src, where)
            return np.eye(len(self.b)) if self.W is None else np.diag(self.W)
        return self.W

    def then(self, M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``M @ (W h + b)`` as a new ``(W, b)``."""
        if self.W is None:
            return M.copy(), M @ self.b
        return (M * self.W[None, :] if self.W.ndim == 1 else M @ self.W), M @ self.b

    def scaled(self, s: np.ndarray, t: np.ndarray, shape: tuple[int, ...]) -> "_Act":
        """The elementwise map ``s * v + t`` (``s``, ``t`` one value per element)."""
        if self.W is None:
            W = None if np.all(s == 1.0) else s.copy()
        else:
            W = s * self.W if self.W.ndim == 1 else s[:, None] * self.W
        return _Act(shape, self.layer, W, s * self.b + t)


def _onnx():
    import onnx  # a declared dependency; imported lazily to keep `import srmverify` light
    from onnx import numpy_helper

    return onnx, numpy_helper


def load_onnx(path: str | Path) -> ReLUNet:
    """Read a ReLU network from an ONNX file (``.onnx`` or gzipped ``.onnx.gz``).

    Raises
    ------
    InputError
        The file is missing, not a valid ONNX model, or its external data is missing or lies
        outside the model's directory.
    UnsupportedNetwork
        The graph uses an operator (or a form of one) outside the supported chain.
    """
    onnx, numpy_helper = _onnx()
    src = str(path)
    model = _read_model(path)
    g = model.graph
    if not g.node:
        raise InputError(src, "graph", g.name, "not a valid ONNX model (the graph has no nodes)")
    consts: dict[str, np.ndarray] = {}
    for t in g.initializer:
        consts[t.name] = _to_float(numpy_helper.to_array(t), src, f"initializer {t.name}")
    inputs = [i for i in g.input if i.name not in consts]
    if len(inputs) != 1:
        raise UnsupportedNetwork(src, "graph.input", [i.name for i in inputs], "expected exactly one network input")
    acts: dict[str, _Act] = {inputs[0].name: _input_act(inputs[0], src)}
    layers: list[tuple[np.ndarray, np.ndarray]] = []
    for k, node in enumerate(g.node):
        where = f"node {node.name or '#' + str(k)} ({node.op_type})"
        _step(node, where, consts, acts, layers, src, numpy_helper)
    if len(g.output) != 1:
        raise UnsupportedNetwork(src, "graph.output", [o.name for o in g.output], "expected exactly one output")
    out = g.output[0].name
    if out not in acts:
        raise UnsupportedNetwork(src, "graph.output", out, "the output does not depend on the input")
    a = acts[out]
    if a.layer != len(layers):
        raise UnsupportedNetwork(src, "graph.output", out, "the output skips later layers (not a chain)")
    layers.append((a.matrix(src, "graph.output"), a.b))
    return ReLUNet(layers, src)


def _read_model(path: str | Path):
    """The model of ``path`` with its external data loaded (only from files in its directory)."""
    onnx, _ = _onnx()
    from google.protobuf.message import DecodeError
    from onnx import external_data_helper

    src = str(path)
    data = read_bytes(path)
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as exc:  # the bytes are not an ONNX model
        raise InputError(src, "file", src, f"not a valid ONNX model ({type(exc).__name__}: {exc})") from None
    base = Path(path).resolve().parent
    for t in external_data_helper._get_all_tensors(model):
        if not external_data_helper.uses_external_data(t):
            continue
        loc = next((e.value for e in t.external_data if e.key == "location"), "")
        target = (base / loc).resolve()
        if not loc or Path(loc).is_absolute() or base not in target.parents:
            raise InputError(src, f"initializer {t.name}.external_data.location", loc,
                             "external data must be a file in the model's directory")
        try:
            external_data_helper.load_external_data_for_tensor(t, str(base))
        except (OSError, ValueError, onnx.checker.ValidationError) as exc:
            raise InputError(src, f"initializer {t.name}.external_data.location", loc,
                             f"cannot read the external data ({getattr(exc, 'strerror', None) or exc})") from None
    return model


def _to_float(a: np.ndarray, src: str, where: str) -> np.ndarray:
    if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
        raise UnsupportedNetwork(src, where, str(a.dtype), "expected a numeric tensor")
    return np.asarray(a, dtype=np.float64)


def _input_act(vi, src: str) -> _Act:
    dims = []
    for d in vi.type.tensor_type.shape.dim:
        dims.append(d.dim_value if d.HasField("dim_value") else None)
    where = f"input {vi.name}.shape"
    if not dims:
        raise UnsupportedNetwork(src, where, dims, "the input needs a known shape")
    # a leading symbolic or unit dimension is the batch of one sample
    if len(dims) > 1 and dims[0] in (None, 1):
        dims = [1] + dims[1:]
    known = [d for d in dims if d is not None and d >= 1]
    if len(known) != len(dims):
        raise UnsupportedNetwork(src, where, [d if d is not None else "?" for d in dims],
                                 "only the leading (batch) dimension may be symbolic")
    n = math.prod(known)
    if n > MAX_DENSE_ENTRIES:
        raise UnsupportedNetwork(src, where, known, f"an input of {n} values is too large "
                                 f"(at most {MAX_DENSE_ENTRIES}): only small models are supported")
    return _Act(tuple(known), 0, None, np.zeros(n))


def _attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _step(node, where, consts, acts, layers, src, numpy_helper) -> None:
    op, at = node.op_type, _attrs(node)
    ins = list(node.input)

    def bad(problem: str) -> NoReturn:
        raise UnsupportedNetwork(src, where, op, problem)

    if op == "Constant":
        if "value" in at:
            consts[node.output[0]] = _to_float(numpy_helper.to_array(at["value"]), src, where)
        elif "value_float" in at or "value_floats" in at or "value_int" in at or "value_ints" in at:
            key = next(k for k in ("value_float", "value_floats", "value_int", "value_ints") if k in at)
            consts[node.output[0]] = np.asarray(at[key], dtype=np.float64)
        else:
            bad("Constant without a numeric value")
        return
    dyn = [i for i in ins if i in acts]
    if not dyn:  # fold constant-only nodes
        if any(i and i not in consts for i in ins):
            missing = next(i for i in ins if i and i not in consts)
            raise UnsupportedNetwork(src, where, missing, "input tensor is not produced by any supported node")
        consts[node.output[0]] = _fold(op, at, [consts[i] if i else None for i in ins], bad)
        return
    if len(dyn) > 1 or (op in ("Gemm", "MatMul", "Add", "Sub", "Mul", "Div") and ins.count(dyn[0]) > 1):
        bad("more than one input depends on the network input (not a feed-forward chain)")
    missing = [i for i in ins[1:] if i and i not in consts and i not in acts]
    if missing:
        raise UnsupportedNetwork(src, where, missing[0], "input tensor is not produced by any supported node")
    a = acts[dyn[0]]
    if op not in _SHAPE_OPS and a.layer != len(layers):
        bad("uses an earlier layer's value (skip connections are not supported)")
    if op in _SHAPE_OPS:
        if ins[0] != dyn[0]:
            bad("the data input must be the network value")
        if op == "Dropout" and (len(ins) > 2 and ins[2] and (ins[2] not in consts or consts[ins[2]].any())):
            bad("Dropout in training mode is not supported (inference only)")
        acts[node.output[0]] = _Act(_reshaped(op, at, a.shape, ins, consts, bad), a.layer, a.W, a.b)
    elif op == "Relu":
        layers.append((a.matrix(src, where), a.b))
        acts[node.output[0]] = _Act(a.shape, len(layers), None, np.zeros(len(a.b)))
    elif op == "Gemm":
        acts[node.output[0]] = _gemm(a, ins.index(dyn[0]), at, [consts.get(i) for i in ins], bad)
    elif op == "MatMul":
        acts[node.output[0]] = _matmul(a, ins.index(dyn[0]), consts[ins[1 - ins.index(dyn[0])]], bad)
    elif op in ("Add", "Sub", "Mul", "Div"):
        acts[node.output[0]] = _arith(op, a, ins.index(dyn[0]), consts[ins[1 - ins.index(dyn[0])]], bad)
    elif op == "BatchNormalization":
        acts[node.output[0]] = _batchnorm(a, at, [consts[i] for i in ins[1:5]], len(node.output), bad)
    elif op in ("Conv", "AveragePool", "GlobalAveragePool"):
        if ins[0] != dyn[0]:
            bad("the data input must be the network value")
        acts[node.output[0]] = _window_op(op, a, at, [consts.get(i) for i in ins[1:]], src, where, bad)
    else:
        bad(f"unsupported operator (supported: {_SUPPORTED})")


def _arith(op: str, a: _Act, pos: int, c: np.ndarray, bad: _Bad) -> _Act:
    """``v + c``, ``v - c``, ``c - v``, ``v * c``, ``c * v``, ``v / c`` with a constant ``c``."""
    try:
        shape = tuple(np.broadcast_shapes(a.shape, c.shape))
    except ValueError:
        bad(f"shapes {a.shape} and {c.shape} do not broadcast")
    if math.prod(shape) != len(a.b):
        bad(f"combining shape {c.shape} with {a.shape} changes the number of values")
    cv = np.broadcast_to(c, shape).reshape(-1)
    one, zero = np.ones(len(cv)), np.zeros(len(cv))
    if op == "Add":
        return a.scaled(one, cv, shape)
    if op == "Sub":
        return a.scaled(one, -cv, shape) if pos == 0 else a.scaled(-one, cv, shape)
    if op == "Mul":
        return a.scaled(cv, zero, shape)
    if pos == 1:
        bad("division by the network value is not affine")
    if not np.all(np.isfinite(cv)) or np.any(cv == 0.0):
        bad("division by zero or by a non-finite constant")
    return a.scaled(1.0 / cv, zero, shape)


def _batchnorm(a: _Act, at: dict, args: list, n_out: int, bad: _Bad) -> _Act:
    """Inference form: ``scale * (v - mean) / sqrt(var + epsilon) + B`` per channel (axis 1)."""
    if int(at.get("training_mode", 0)) or n_out > 1:
        bad("BatchNormalization in training mode is not supported (inference only)")
    if len(a.shape) < 2:
        bad(f"needs a value with a channel axis, got shape {a.shape}")
    C = a.shape[1]
    scale, B, mean, var = (np.asarray(v, dtype=np.float64).reshape(-1) for v in args)
    if any(v.shape != (C,) for v in (scale, B, mean, var)):
        bad(f"scale, B, mean and var need {C} values (one per channel)")
    s = scale / np.sqrt(var + float(at.get("epsilon", 1e-5)))
    if not np.all(np.isfinite(s)):
        bad("var + epsilon must be > 0")
    per = math.prod(a.shape[2:])
    return a.scaled(np.repeat(s, per), np.repeat(B - mean * s, per), a.shape)


def _window_index(spatial: tuple, kernel: tuple, strides: tuple, pads: tuple, dil: tuple):
    """Output spatial shape and, per output position and kernel offset, the flat input index of a
    sliding window (``-1`` in the padding), ``(n_out, n_kernel)``."""
    d = len(spatial)
    out = tuple((spatial[i] + pads[i] + pads[d + i] - dil[i] * (kernel[i] - 1) - 1) // strides[i] + 1
                for i in range(d))
    if any(o < 1 for o in out):
        return out, None
    o = np.indices(out).reshape(d, -1)          # (d, n_out)
    k = np.indices(kernel).reshape(d, -1)       # (d, n_k)
    pos = o[:, :, None] * np.array(strides)[:, None, None] - np.array(pads[:d])[:, None, None] \
        + k[:, None, :] * np.array(dil)[:, None, None]
    inside = np.all((pos >= 0) & (pos < np.array(spatial)[:, None, None]), axis=0)
    flat = np.ravel_multi_index(tuple(np.clip(pos, 0, np.array(spatial)[:, None, None] - 1)), spatial)
    return out, np.where(inside, flat, -1)


def _pads(at: dict, spatial: tuple, kernel: tuple, strides: tuple, dil: tuple, bad: _Bad) -> tuple[int, ...]:
    d = len(spatial)
    mode = at.get("auto_pad", b"NOTSET")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    if mode in ("NOTSET", ""):
        pads = tuple(int(p) for p in at.get("pads", [0] * (2 * d)))
        if len(pads) != 2 * d or min(pads) < 0:
            bad(f"pads {list(pads)} do not fit {d} spatial axes")
        return pads
    if mode == "VALID":
        return (0,) * (2 * d)
    if mode not in ("SAME_UPPER", "SAME_LOWER"):
        bad(f"unknown auto_pad {mode!r}")
    total = [max(0, (-(-spatial[i] // strides[i]) - 1) * strides[i] + dil[i] * (kernel[i] - 1) + 1 - spatial[i])
             for i in range(d)]
    small = [t // 2 for t in total]
    begin = small if mode == "SAME_UPPER" else [t - s for t, s in zip(total, small)]
    return tuple(begin) + tuple(t - b for t, b in zip(total, begin))


def _window_op(op: str, a: _Act, at: dict, args: list, src: str, where: str, bad: _Bad) -> _Act:
    """``Conv`` / ``AveragePool`` / ``GlobalAveragePool`` on one sample ``(1, C, *spatial)`` as an
    exact dense matrix (refused beyond :data:`MAX_DENSE_ENTRIES` entries)."""
    if len(a.shape) < 3 or a.shape[0] != 1:
        bad(f"needs a value of shape (1, C, spatial...), got {a.shape}")
    C, spatial = a.shape[1], tuple(a.shape[2:])
    d, n_in = len(spatial), math.prod(spatial)
    if op == "Conv":
        Wt = args[0]
        if Wt is None or Wt.ndim != d + 2:
            bad(f"the weight must be a constant of rank {d + 2}")
        group = int(at.get("group", 1))
        M, Cg, kernel = Wt.shape[0], Wt.shape[1], tuple(Wt.shape[2:])
        if group < 1 or C != Cg * group or M % group:
            bad(f"weight shape {Wt.shape} with group={group} does not match {C} input channels")
        if "kernel_shape" in at and tuple(at["kernel_shape"]) != kernel:
            bad(f"kernel_shape {list(at['kernel_shape'])} differs from the weight shape {Wt.shape}")
    elif op == "AveragePool":
        M, kernel = C, tuple(int(k) for k in at.get("kernel_shape", ()))
        if len(kernel) != d:
            bad(f"kernel_shape {list(kernel)} does not fit {d} spatial axes")
    else:
        M, kernel = C, spatial
    strides = tuple(int(s) for s in at.get("strides", [1] * d))
    dil = tuple(int(s) for s in at.get("dilations", [1] * d))
    if len(strides) != d or len(dil) != d or min(strides + dil + kernel) < 1:
        bad(f"strides {list(strides)} / dilations {list(dil)} / kernel {list(kernel)} are not valid")
    pads = (0,) * (2 * d) if op == "GlobalAveragePool" else _pads(at, spatial, kernel, strides, dil, bad)
    if op == "AveragePool" and int(at.get("ceil_mode", 0)):
        ceil_out = tuple(-(-(spatial[i] + pads[i] + pads[d + i] - dil[i] * (kernel[i] - 1) - 1) // strides[i]) + 1
                         for i in range(d))
        if ceil_out != _window_index(spatial, kernel, strides, pads, dil)[0]:
            bad("ceil_mode=1 with partial windows is not supported")
    out = tuple((spatial[i] + pads[i] + pads[d + i] - dil[i] * (kernel[i] - 1) - 1) // strides[i] + 1
                for i in range(d))
    n_out = math.prod(out) if min(out) > 0 else 0
    _guard(M * n_out, C * n_in, op, src, where)
    _guard(M * n_out, math.prod(kernel) * (C if op == "Conv" else 1), op, src, where)
    out, idx = _window_index(spatial, kernel, strides, pads, dil)
    if idx is None:
        bad(f"the window {list(kernel)} does not fit the input {list(spatial)}")
    T = np.zeros((M * n_out, C * n_in))
    ok = idx >= 0
    o, k = np.nonzero(ok)                     # every (output position, kernel offset) inside
    cols_sp = idx[o, k]
    if op == "Conv":
        m, c = np.arange(M)[:, None, None], np.arange(Cg)[None, :, None]
        cin = (m // (M // group)) * Cg + c
        Wf = Wt.reshape(M, Cg, -1)
        T[m * n_out + o[None, None, :], cin * n_in + cols_sp[None, None, :]] = Wf[:, :, k]
        bias = args[1] if len(args) > 1 and args[1] is not None else np.zeros(M)
        if bias.shape != (M,):
            bad(f"bias shape {bias.shape} does not match {M} output channels")
    else:
        count = np.full(n_out, float(idx.shape[1])) if int(at.get("count_include_pad", 0)) else ok.sum(axis=1)
        c = np.arange(C)[:, None]
        T[c * n_out + o[None, :], c * n_in + cols_sp[None, :]] = 1.0 / count[o][None, :]
        bias = np.zeros(M)
    W, b = a.then(T)
    return _Act((1, M) + out, a.layer, W, b + np.repeat(bias, n_out))


def _gemm(a: _Act, pos: int, at: dict, args: list, bad: _Bad) -> _Act:
    alpha, beta = float(at.get("alpha", 1.0)), float(at.get("beta", 1.0))
    tA, tB = int(at.get("transA", 0)), int(at.get("transB", 0))
    if len(a.shape) != 2:
        bad(f"Gemm needs a 2-D value, got shape {a.shape}")
    C = args[2] if len(args) > 2 and args[2] is not None else np.zeros(())
    if pos == 0:  # Y = alpha * v B' + beta C, v a row
        if (a.shape[1] if tA else a.shape[0]) != 1:
            bad(f"the network value of shape {a.shape} (transA={tA}) is not a single row")
        B = args[1].T if tB else args[1]
        if B.ndim != 2 or B.shape[0] != len(a.b):
            bad(f"weight shape {args[1].shape} (transB={tB}) does not match {len(a.b)} inputs")
        M, shape = B.T, (1, B.shape[1])
    elif pos == 1:  # Y = alpha * A' v + beta C, v a column
        if (a.shape[0] if tB else a.shape[1]) != 1:
            bad(f"the network value of shape {a.shape} (transB={tB}) is not a single column")
        A = args[0].T if tA else args[0]
        if A.ndim != 2 or A.shape[1] != len(a.b):
            bad(f"weight shape {args[0].shape} (transA={tA}) does not match {len(a.b)} inputs")
        M, shape = A, (A.shape[0], 1)
    else:
        bad("the bias C depends on the network input")
    try:
        c = np.broadcast_to(C, shape).reshape(-1)
    except ValueError:
        bad(f"bias shape {C.shape} does not broadcast to {shape}")
    W, b = a.then(M)
    return _Act(shape, a.layer, alpha * W, alpha * b + beta * c)


def _matmul(a: _Act, pos: int, M: np.ndarray, bad: _Bad) -> _Act:
    n = len(a.b)
    if M.ndim != 2:
        bad(f"weight of shape {M.shape}: only 2-D weights are supported")
    if pos == 0:  # v @ M, v of shape (..., n) holding one sample
        if a.shape[-1] != n or M.shape[0] != n:
            bad(f"value shape {a.shape} @ weight {M.shape} is not a vector-matrix product")
        W, shape = M.T, a.shape[:-1] + (M.shape[1],)
    else:  # M @ v, v of shape (n,) or (n, 1)
        if a.shape not in ((n,), (n, 1)) or M.shape[1] != n:
            bad(f"weight {M.shape} @ value shape {a.shape} is not a matrix-vector product")
        W, shape = M, (M.shape[0],) + a.shape[1:]
    return _Act(shape, a.layer, *a.then(W))


def _axes(at: dict, ins: list, consts: dict) -> list[int] | None:
    if "axes" in at:
        return [int(x) for x in at["axes"]]
    if len(ins) > 1 and ins[1]:
        return [int(x) for x in consts[ins[1]].reshape(-1)]
    return None


def _reshaped(op: str, at: dict, shape: tuple, ins: list, consts: dict, bad: _Bad) -> tuple[int, ...]:
    """Output shape of a shape-only operator (the values keep their row-major order)."""
    n = int(np.prod(shape))
    if op in ("Identity", "Dropout"):
        return shape
    if op == "Flatten":
        ax = int(at.get("axis", 1))
        ax = ax + len(shape) if ax < 0 else ax
        return (int(np.prod(shape[:ax])), int(np.prod(shape[ax:])))
    if op == "Reshape":
        if len(ins) < 2 or ins[1] not in consts:
            bad("the target shape must be a constant")
        target = [int(x) for x in consts[ins[1]].reshape(-1)]
        target = [shape[i] if (d == 0 and not at.get("allowzero", 0)) else d for i, d in enumerate(target)]
        if target.count(-1) == 1:
            rest = int(np.prod([d for d in target if d != -1]))
            target[target.index(-1)] = n // rest if rest and n % rest == 0 else -2
        if any(d < 0 for d in target) or int(np.prod(target)) != n:
            bad(f"cannot reshape {shape} to {consts[ins[1]].astype(int).tolist()}")
        return tuple(target)
    axes = _axes(at, ins, consts)
    if op == "Squeeze":
        r = len(shape)
        drop = {i for i, d in enumerate(shape) if d == 1} if axes is None else {x % r for x in axes}
        if any(shape[i] != 1 for i in drop):
            bad(f"cannot squeeze axes {sorted(drop)} of shape {shape}")
        return tuple(d for i, d in enumerate(shape) if i not in drop)
    if axes is None:
        bad("Unsqueeze needs axes")
    r = len(shape) + len(axes)
    out = list(shape)
    for ax in sorted(x % r for x in axes):
        out.insert(ax, 1)
    return tuple(out)


def _fold(op: str, at: dict, args: list, bad: _Bad) -> np.ndarray:
    """Evaluate a node whose inputs are all constants."""
    x = args[0]
    if op in ("Identity", "Dropout"):
        return x
    if op == "Cast":  # round through the target type, as the runtime would
        from onnx import helper

        return x.astype(helper.tensor_dtype_to_np_dtype(at["to"])).astype(np.float64)
    if op == "Transpose":
        return np.transpose(x, at.get("perm"))
    if op in ("Flatten", "Reshape", "Squeeze", "Unsqueeze"):
        consts = {f"#{i}": v for i, v in enumerate(args) if v is not None}
        ins = [f"#{i}" if v is not None else "" for i, v in enumerate(args)]
        return x.reshape(_reshaped(op, at, x.shape, ins, consts, bad))
    if op in ("Add", "Sub", "Mul", "Div", "MatMul"):
        f = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide, "MatMul": np.matmul}[op]
        return f(args[0], args[1])
    if op == "Relu":
        return np.maximum(x, 0.0)
    bad("unsupported operator on constants")


def save_onnx(net: SNN | ReLUNet, path: str | Path) -> None:
    """Write a ReLU network as ONNX (opset 13): ``Gemm`` (transB=1) per layer, ``Relu`` between,
    DOUBLE tensors so that :func:`load_onnx` gives back every parameter exactly."""
    if not isinstance(net, ReLUNet):
        raise UnsupportedNetwork(str(path), "kind", type(net).__name__, "ONNX export supports ReLU networks only")
    onnx, numpy_helper = _onnx()
    from onnx import TensorProto, helper

    nodes, inits = [], []
    cur = "input"
    L = len(net.layers)
    for l, (W, b) in enumerate(net.layers):
        inits += [numpy_helper.from_array(np.asarray(W, dtype=np.float64), f"W{l}"),
                  numpy_helper.from_array(np.asarray(b, dtype=np.float64), f"b{l}")]
        z = "output" if l == L - 1 else f"z{l}"
        nodes.append(helper.make_node("Gemm", [cur, f"W{l}", f"b{l}"], [z], name=f"gemm{l}", transB=1))
        if l < L - 1:
            nodes.append(helper.make_node("Relu", [z], [f"h{l}"], name=f"relu{l}"))
            cur = f"h{l}"
    graph = helper.make_graph(
        nodes, "srmverify_relu",
        [helper.make_tensor_value_info("input", TensorProto.DOUBLE, ["batch", net.n_inputs])],
        [helper.make_tensor_value_info("output", TensorProto.DOUBLE, ["batch", net.n_outputs])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="srmverify")
    model.ir_version = 8
    onnx.checker.check_model(model)
    atomic_write(path, model.SerializeToString(), "--output")
