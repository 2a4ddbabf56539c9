"""ONNX import and export of feed-forward ReLU networks.

Import follows the graph from its single non-constant input through a chain of affine operators
(``Gemm``, ``MatMul``, ``Add``/``Sub`` of constants) and ``Relu``; shape-only operators
(``Flatten``, ``Reshape``, ``Squeeze``, ``Unsqueeze``, ``Identity``, ``Dropout``) are accepted
because they keep the row-major order of the values of a single sample. Weights come from
initializers and ``Constant`` nodes (``Transpose``, ``Cast`` and the same shape operators are
folded on constants). Every value is converted to float64 exactly (float32 -> float64 is exact).
Anything else raises :class:`~srmverify.errors.UnsupportedNetwork` naming the operator and node.

Export writes one ``Gemm`` (``transB=1``, the weight matrix stored as it is) per layer with
``Relu`` between them, as DOUBLE tensors, so every float64 parameter survives exactly; the
input has a symbolic batch dimension (``[batch, n]``). onnxruntime runs these models.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError, UnsupportedNetwork
from ..network import ReLUNet

#: Operators that only reshape a single sample (row-major order unchanged).
_SHAPE_OPS = {"Flatten", "Reshape", "Squeeze", "Unsqueeze", "Identity", "Dropout"}


@dataclass
class _Act:
    """A tensor that depends on the input: its values (row-major) are ``W @ h + b`` where ``h``
    is the output of ReLU layer ``layer`` (0 = the network input); ``W = None`` is the identity
    (so weights that follow a ReLU are taken as they are, without a product)."""

    shape: tuple[int, ...]
    layer: int
    W: np.ndarray | None
    b: np.ndarray

    def matrix(self) -> np.ndarray:
        return np.eye(len(self.b)) if self.W is None else self.W

    def then(self, M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``M @ (W h + b)`` as a new ``(W, b)``."""
        return (M.copy() if self.W is None else M @ self.W), M @ self.b


def _onnx():
    import onnx  # a declared dependency; imported lazily to keep `import srmverify` light
    from onnx import numpy_helper

    return onnx, numpy_helper


def load_onnx(path: str | Path) -> ReLUNet:
    """Read a ReLU network from an ONNX file.

    Raises
    ------
    InputError
        The file is missing or not a valid ONNX model.
    UnsupportedNetwork
        The graph uses an operator (or a form of one) outside the supported chain.
    """
    onnx, numpy_helper = _onnx()
    from google.protobuf.message import DecodeError

    src = str(path)
    try:
        model = onnx.load(src)
    except FileNotFoundError:
        raise InputError(src, "file", src, "file not found") from None
    except OSError as exc:
        raise InputError(src, "file", src, f"cannot read ({exc.strerror or exc})") from None
    except (DecodeError, ValueError, RuntimeError) as exc:  # the bytes are not an ONNX model
        raise InputError(src, "file", src, f"not a valid ONNX model ({type(exc).__name__}: {exc})") from None
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
    layers.append((a.matrix(), a.b))
    return ReLUNet(layers, src)


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
    if any(d is None or d < 1 for d in dims):
        raise UnsupportedNetwork(src, where, [d if d is not None else "?" for d in dims],
                                 "only the leading (batch) dimension may be symbolic")
    n = int(np.prod(dims))
    return _Act(tuple(dims), 0, None, np.zeros(n))


def _attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _step(node, where, consts, acts, layers, src, numpy_helper) -> None:
    op, at = node.op_type, _attrs(node)
    ins = list(node.input)

    def bad(problem: str):
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
    if len(dyn) > 1 or (op in ("Gemm", "MatMul", "Add", "Sub") and ins.count(dyn[0]) > 1):
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
        acts[node.output[0]] = _Act(_reshaped(op, at, a.shape, ins, consts, bad), a.layer, a.W, a.b)
    elif op == "Relu":
        layers.append((a.matrix(), a.b))
        acts[node.output[0]] = _Act(a.shape, len(layers), None, np.zeros(len(a.b)))
    elif op == "Gemm":
        acts[node.output[0]] = _gemm(a, ins.index(dyn[0]), at, [consts.get(i) for i in ins], bad)
    elif op == "MatMul":
        acts[node.output[0]] = _matmul(a, ins.index(dyn[0]), consts[ins[1 - ins.index(dyn[0])]], bad)
    elif op in ("Add", "Sub"):
        i = ins.index(dyn[0])
        c = consts[ins[1 - i]]
        try:
            shape = tuple(np.broadcast_shapes(a.shape, c.shape))
        except ValueError:
            bad(f"shapes {a.shape} and {c.shape} do not broadcast")
        if int(np.prod(shape)) != len(a.b):
            bad(f"adding shape {c.shape} to {a.shape} changes the number of values")
        cv = np.broadcast_to(c, shape).reshape(-1)
        sign = -1.0 if (op == "Sub" and i == 1) else 1.0
        cs = -cv if (op == "Sub" and i == 0) else cv
        acts[node.output[0]] = _Act(shape, a.layer, a.W if sign > 0 else -a.matrix(), sign * a.b + cs)
    else:
        bad("unsupported operator (supported: Gemm, MatMul, Add, Sub, Relu, Flatten, Reshape, "
            "Squeeze, Unsqueeze, Identity, Dropout, Constant)")


def _gemm(a: _Act, pos: int, at: dict, args: list, bad) -> _Act:
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


def _matmul(a: _Act, pos: int, M: np.ndarray, bad) -> _Act:
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


def _reshaped(op: str, at: dict, shape: tuple, ins: list, consts: dict, bad) -> tuple[int, ...]:
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


def _fold(op: str, at: dict, args: list, bad) -> np.ndarray:
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


def save_onnx(net: ReLUNet, path: str | Path) -> None:
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
    onnx.save(model, str(path))
