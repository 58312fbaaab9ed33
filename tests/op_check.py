"""check_op: one call checks a Mint op completely (after tinygrad's ``helper_test_op`` and
Chainer's ``check_backward``).

Describe the op once with :class:`Op` (its Mint forward and backward from ``mint.functional``,
its PyTorch reference), then call :func:`check_op` with input arrays and hyper-parameters. For
each strategy and dtype asked for, it checks

1. the forward outputs and every gradient against PyTorch autograd (``helpers.TOLERANCES``);
   without torch this part is left out with a warning, everything else still runs;
2. every gradient against float64 central finite differences (``helpers.FINITE_DIFFERENCES``):
   element by element (a seeded sample of ``fd_elements`` of them for larger inputs) and along
   one random direction through all elements at once;
3. against every other strategy (``helpers.STRATEGY_TOLERANCES``);
4. that strided, Fortran-ordered, axis-swapped and reversed (negative-stride) inputs, outputs
   and grad_out give exactly the results of contiguous ones;
5. that float outputs and gradients keep the input dtype (a 0-d reference output, a loss, must
   come back as a Python float).

Usage (a new elementwise op with one hyper-parameter; the reference is a lambda so that the
test module imports without torch)::

    SOFTPLUS = Op(F.softplus, F.softplus_backward,
                  lambda x, **kw: torch.nn.functional.softplus(x, **kw))

    @pytest.mark.parametrize("dtype", DTYPES)
    @pytest.mark.parametrize("strategy", STRATEGY_NAMES)
    @given(shape=shapes, beta=st.sampled_from([0.5, 1.0, 2.0]), seed=seeds)
    def test_softplus_matches_references(strategy, dtype, shape, beta, seed):
        x = random_array(np.random.default_rng(seed), shape)
        check_op(SOFTPLUS, (x,), {"beta": beta}, strategies=[strategy], dtypes=[dtype],
                 seed=seed)
"""

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from helpers import (
    DTYPES,
    FINITE_DIFFERENCES,
    STRATEGY_NAMES,
    STRATEGY_TOLERANCES,
    assert_close,
    assert_gradient_matches_finite_differences,
    central_difference,
    random_array,
    to_torch,
    torch,
)


def _same_inputs(inputs, outputs):
    return inputs


@dataclass(frozen=True)
class Op:
    """How :func:`check_op` calls one op. ``inputs`` is a tuple of arrays (or ``None`` for an
    absent optional input such as a bias), ``params`` a dict of hyper-parameters.

    forward: ``forward(*inputs, **params, strategy=s)``, an array or a tuple of outputs.
    backward: ``backward(grad_out, *backward_args(inputs, outputs), **params, strategy=s)``, one
        gradient or a tuple of them, for the inputs at ``grads``, in that order.
    reference: ``reference(*tensors, **params)``, the outputs of ``forward`` as torch tensors
        (usually a ``torch.nn.functional`` call); inputs at ``grads`` require a gradient.
    backward_args: what backward takes after grad_out (default: all inputs).
    backward_params: whether backward takes the hyper-parameters too.
    grads: the indices of the inputs that backward returns gradients for.
    differentiated: the index of the forward output that backward differentiates.
    loss: that output is a scalar loss: backward takes no grad_out (it is 1).
    exact_outputs: indices of outputs that must equal the reference exactly (a maximum, an
        argmax); integer outputs are always compared exactly.
    fill_absent: ``(inputs) -> inputs`` replacing each ``None`` with the value that means the
        same to the reference (a zero bias), so that its gradient can be compared too.
    away_from_kinks: ``(float64 inputs) -> inputs`` moved away from the points where the op has
        no derivative (relu at 0), used for finite differences only.
    """

    forward: Callable
    backward: Callable
    reference: Callable
    backward_args: Callable = _same_inputs
    backward_params: bool = True
    grads: tuple[int, ...] = (0,)
    differentiated: int = 0
    loss: bool = False
    exact_outputs: tuple[int, ...] = ()
    fill_absent: Callable | None = None
    away_from_kinks: Callable | None = None


def check_op(op, inputs, params=None, *, strategies=STRATEGY_NAMES, dtypes=DTYPES, seed=0,
             finite_differences=True, fd_elements=64):
    """Check ``op`` on ``inputs`` (a tuple of arrays, ``None`` for an absent optional input)
    with hyper-parameters ``params``, for each strategy in ``strategies`` and dtype in
    ``dtypes``; see the module docstring for the five checks.

    Float inputs are cast to each dtype (integer inputs such as class indices are kept);
    grad_out is drawn from ``seed``. Finite differences run in float64, for each strategy, when
    float64 is among ``dtypes`` and ``finite_differences`` is true (pass False for inputs
    without a derivative, such as tied maxima); at most ``fd_elements`` elements of each input
    are perturbed one by one.
    """
    params = dict(params or {})
    inputs = tuple(inputs)
    for dtype in map(np.dtype, dtypes):
        cast = _cast(inputs, dtype)
        results = {s: _run(op, cast, params, s, seed) for s in STRATEGY_NAMES}
        expected = _torch_results(op, cast, params, seed) if torch is not None else None
        for strategy in strategies:
            where = f"{strategy} {dtype}"
            _check_dtypes(results[strategy], dtype, expected, where)
            if expected is not None:
                _check_results(op, results[strategy], expected, dtype, None,
                               f"{where} vs torch")
            for other in STRATEGY_NAMES:
                if other != strategy:
                    _check_results(op, results[strategy], results[other], dtype,
                                   STRATEGY_TOLERANCES, f"{where} vs {other}")
            for layout, relayout in LAYOUTS.items():
                _check_equal(_run(op, cast, params, strategy, seed, relayout),
                             results[strategy], f"{where} {layout} inputs")
    if torch is None:
        warnings.warn("PyTorch is not installed: checked against finite differences and the "
                      "other strategy only", stacklevel=2)
    if finite_differences and np.dtype(np.float64) in map(np.dtype, dtypes):
        float64 = _cast(inputs, np.dtype(np.float64))
        if op.away_from_kinks is not None:
            float64 = tuple(op.away_from_kinks(float64))
        for strategy in strategies:
            _check_finite_differences(op, float64, params, strategy, seed, fd_elements)


def zero_bias(inputs):
    """``fill_absent`` of an op taking ``(x, weight, bias)``: an absent bias is a zero bias with
    one value per output channel (weight's first axis)."""
    x, weight, bias = inputs
    return x, weight, np.zeros(weight.shape[0], weight.dtype) if bias is None else bias


# --------------------------------------------------------------------------------- running


def _as_tuple(value):
    return value if isinstance(value, tuple) else (value,)


def _cast(inputs, dtype):
    return tuple(x.astype(dtype) if isinstance(x, np.ndarray) and x.dtype.kind == "f" else x
                 for x in inputs)


def _grad_out(output, seed):
    """A seeded grad_out in the output's shape and dtype: the same for every strategy and
    layout, and the same values (rounded) for every dtype."""
    return random_array(np.random.default_rng(seed + 1), output.shape).astype(output.dtype)


def _keep(array):
    return array


def _run(op, inputs, params, strategy, seed, relayout=_keep):
    """(outputs, gradients) of Mint, every array argument passed through ``relayout``."""
    inputs = tuple(relayout(x) if isinstance(x, np.ndarray) else x for x in inputs)
    outputs = _as_tuple(op.forward(*inputs, **params, strategy=strategy))
    saved = tuple(relayout(o) if isinstance(o, np.ndarray) else o for o in outputs)
    args = op.backward_args(inputs, saved)
    kwargs = {**(params if op.backward_params else {}), "strategy": strategy}
    if op.loss:
        grads = op.backward(*args, **kwargs)
    else:
        grad_out = relayout(_grad_out(outputs[op.differentiated], seed))
        grads = op.backward(grad_out, *args, **kwargs)
    return outputs, _as_tuple(grads)


def _torch_results(op, inputs, params, seed):
    """(outputs, gradients) of the PyTorch reference, as NumPy arrays."""
    if op.fill_absent is not None:
        inputs = tuple(op.fill_absent(inputs))
    tensors = [None if x is None else to_torch(x, requires_grad=i in op.grads)
               for i, x in enumerate(inputs)]
    outputs = _as_tuple(op.reference(*tensors, **params))
    differentiated = outputs[op.differentiated]
    if op.loss:
        differentiated.backward()
    else:
        grad_out = _grad_out(differentiated.detach().numpy(), seed)
        differentiated.backward(to_torch(grad_out))
    grads = tuple(np.zeros(tensors[i].shape, inputs[i].dtype) if tensors[i].grad is None
                  else tensors[i].grad.numpy() for i in op.grads)
    return tuple(o.detach().numpy() for o in outputs), grads


# -------------------------------------------------------------------------------- checking


def _check_dtypes(results, dtype, expected, where):
    """Float outputs and gradients keep the input dtype; integer outputs have the reference's
    dtype (int64 without torch); a loss (0-d reference) is a Python float."""
    outputs, grads = results
    for i, output in enumerate(outputs):
        if isinstance(output, np.ndarray) and output.dtype.kind in "iu":
            wanted = np.dtype(np.int64) if expected is None else expected[0][i].dtype
            assert output.dtype == wanted, (where, f"output {i}", output.dtype)
        elif isinstance(output, np.ndarray):
            assert output.dtype == dtype, (where, f"output {i}", output.dtype)
        else:
            assert type(output) is float, (where, f"output {i}", type(output))
    for i, grad in enumerate(grads):
        assert isinstance(grad, np.ndarray) and grad.dtype == dtype, (where, f"grad {i}")


def _check_results(op, actual, expected, dtype, tolerances, where):
    """Compare (outputs, gradients) within ``tolerances`` (None: helpers.TOLERANCES); a loss
    (a Python float) is compared in ``dtype``."""
    (outputs, grads), (expected_outputs, expected_grads) = actual, expected
    assert len(outputs) == len(expected_outputs) and len(grads) == len(expected_grads), where
    # A loss is a Python float: compare it in the dtype it was computed in (its gradient's).
    dtype = grads[0].dtype if grads else None
    for i, (a, e) in enumerate(zip(outputs, expected_outputs, strict=True)):
        a, e = (np.asarray(v, dtype=dtype if np.ndim(v) == 0 else None) for v in (a, e))
        if i in op.exact_outputs or a.dtype.kind in "iu":
            assert a.shape == e.shape, (where, f"output {i}", a.shape, e.shape)
            np.testing.assert_array_equal(a, e, err_msg=f"{where}: output {i}")
        else:
            assert_close(a, e, tolerances, err_msg=f"{where}: output {i}")
    for i, (a, e) in enumerate(zip(grads, expected_grads, strict=True)):
        assert_close(a, e, tolerances, err_msg=f"{where}: gradient of input {op.grads[i]}")


def _check_equal(actual, expected, where):
    for name, a_all, e_all in zip(("output", "gradient"), actual, expected, strict=True):
        for i, (a, e) in enumerate(zip(a_all, e_all, strict=True)):
            assert np.shape(a) == np.shape(e), (where, name, i)
            np.testing.assert_array_equal(a, e, err_msg=f"{where}: {name} {i}")


# ---------------------------------------------------------------------------------- layouts


def _strided(a):
    """Every other element of an array twice the size."""
    doubled = np.zeros(tuple(2 * s for s in a.shape), a.dtype)
    doubled[(slice(None, None, 2),) * a.ndim] = a
    return doubled[(slice(None, None, 2),) * a.ndim]


def _swapped(a):
    """C-ordered with the last two axes swapped: neither C- nor Fortran-contiguous."""
    if a.ndim < 2:
        return a
    return np.swapaxes(np.ascontiguousarray(np.swapaxes(a, -1, -2)), -1, -2)


def _reversed(a):
    """Negative strides along every axis."""
    flip = (slice(None, None, -1),) * a.ndim
    return np.ascontiguousarray(a[flip])[flip]


LAYOUTS = {"strided": _strided, "fortran": np.asfortranarray, "transposed": _swapped,
           "reversed": _reversed}


# ----------------------------------------------------------------------- finite differences


def _check_finite_differences(op, inputs, params, strategy, seed, fd_elements):
    """Each gradient of ``sum(out * grad_out)`` against central differences in float64."""
    outputs, grads = _run(op, inputs, params, strategy, seed)
    grad_out = 1.0 if op.loss else _grad_out(outputs[op.differentiated], seed)
    rng = np.random.default_rng(seed + 2)
    rtol, atol = FINITE_DIFFERENCES["rtol"], FINITE_DIFFERENCES["atol"]

    for slot, grad in zip(op.grads, grads, strict=True):
        x = inputs[slot]
        if x is None:  # an absent bias: its gradient was compared with the reference's
            continue
        assert grad.shape == x.shape, (strategy, slot, grad.shape, x.shape)
        if x.size == 0:
            continue

        def output(value, slot=slot):
            moved = list(inputs)
            moved[slot] = value
            return _as_tuple(op.forward(*moved, **params, strategy=strategy))[op.differentiated]

        where = f"{strategy}: gradient of input {slot} vs finite differences"
        elements = (np.arange(x.size) if x.size <= fd_elements
                    else rng.choice(x.size, fd_elements, replace=False))
        assert_gradient_matches_finite_differences(output, x, grad, grad_out, elements, where)
        direction = rng.standard_normal(x.shape)
        terms = grad * direction
        numeric = central_difference(output, x, direction, grad_out)
        assert abs(numeric - terms.sum()) <= atol + rtol * np.abs(terms).sum(), (
            f"{where}, along a random direction")
