"""Every op as a pair of functions, forward and backward: validation, then strategy dispatch.

This is the only door into :mod:`mint.kernels` (``loop``) and :mod:`mint.vectorized`. Numba
kernels do no bounds checking, so every argument is checked here, before any kernel runs, and
bad input raises ``TypeError`` or ``ValueError`` naming the argument and what was expected.
Arrays may be of any memory layout: they are made C-contiguous here. Both strategies see exactly
the same, already validated, arguments, so they raise the same errors.

Float32 and float64 are supported; the arrays of one call must share their dtype. Each function
takes ``strategy=None`` ("loop", "vectorized", or ``None`` for :func:`mint.get_strategy`).
"""

import math
import numbers

import numpy as np

from mint.strategy import resolve

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


# --------------------------------------------------------------------------- validation helpers


def _float_array(op, name, array, ndim=None):
    """``array`` as a C-contiguous float32/float64 ndarray, or a TypeError/ValueError."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{op}: {name} must be a numpy.ndarray, got {type(array).__name__}")
    if array.dtype not in FLOAT_DTYPES:
        raise TypeError(
            f"{op}: {name} must have dtype float32 or float64, got {array.dtype}"
        )
    if ndim is not None and array.ndim != ndim:
        raise ValueError(
            f"{op}: {name} must have {ndim} dimensions, got shape {array.shape}"
        )
    return np.ascontiguousarray(array)


def _same_dtype(op, **arrays):
    dtypes = {name: a.dtype for name, a in arrays.items() if a is not None}
    if len(set(dtypes.values())) > 1:
        listed = ", ".join(f"{name} {dtype}" for name, dtype in dtypes.items())
        raise TypeError(f"{op}: arrays must share one dtype, got {listed}")


def _int(op, name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{op}: {name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value}")
    return int(value)


def _pair(op, name, value, minimum):
    """An int or a pair of ints, each >= ``minimum``, as a tuple ``(h, w)``."""
    if isinstance(value, tuple | list):
        if len(value) != 2:
            raise ValueError(f"{op}: {name} must be an int or a pair (h, w), got {value!r}")
        return tuple(_int(op, name, v, minimum) for v in value)
    value = _int(op, name, value, minimum)
    return (value, value)


def _spatial_params(op, stride, padding, dilation):
    return (
        _pair(op, "stride", stride, 1),
        _pair(op, "padding", padding, 0),
        _pair(op, "dilation", dilation, 1),
    )


def _output_size(size, kernel, stride, padding, dilation, ceil_mode=False):
    """Output length of a window op along one axis (PyTorch's formula)."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if span < 0:
        return 0
    out = -(-span // stride) + 1 if ceil_mode else span // stride + 1
    # A ceil_mode window must start inside the input or the left padding.
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _check_window_fits(op, x_shape, kernel, padding, dilation):
    for axis, size, k, p, d in zip(("height", "width"), x_shape[2:], kernel, padding, dilation,
                                   strict=True):
        extent = d * (k - 1) + 1
        if extent > size + 2 * p:
            raise ValueError(
                f"{op}: kernel {axis} {k} with dilation {d} spans {extent} pixels, more than "
                f"the padded input {axis} {size} + 2 * {p} = {size + 2 * p} "
                f"(input shape {x_shape})"
            )


def _bias(op, bias, weight):
    """``bias`` (None, or one value per output channel of ``weight``) made C-contiguous."""
    if bias is None:
        return None
    bias = _float_array(op, "bias", bias, ndim=1)
    if bias.shape[0] != weight.shape[0]:
        raise ValueError(
            f"{op}: bias must have shape ({weight.shape[0]},) to match weight "
            f"{weight.shape}, got {bias.shape}"
        )
    return bias


def _check_grad_out(op, grad_out, expected_shape):
    if grad_out.shape != tuple(expected_shape):
        raise ValueError(
            f"{op}: grad_out must have shape {tuple(expected_shape)} (the forward output), "
            f"got {grad_out.shape}"
        )


# --------------------------------------------------------------------------------------- linear


def _check_linear(op, x, weight, bias):
    x = _float_array(op, "input", x, ndim=2)
    weight = _float_array(op, "weight", weight, ndim=2)
    bias = _bias(op, bias, weight)
    _same_dtype(op, input=x, weight=weight, bias=bias)
    if x.shape[1] != weight.shape[1]:
        raise ValueError(
            f"{op}: expected input with {weight.shape[1]} features (weight is {weight.shape}), "
            f"got shape {x.shape}"
        )
    return x, weight, bias


def linear(x, weight, bias=None, *, strategy=None):
    """``x @ weight.T + bias``: x (N, C_in), weight (C_out, C_in), bias (C_out,) or None."""
    x, weight, bias = _check_linear("linear", x, weight, bias)
    if bias is None:
        bias = np.zeros(weight.shape[0], dtype=x.dtype)
    return resolve(strategy).linear.linear_forward(x, weight, bias)


def _check_linear_backward(op, grad_out, x, weight):
    x, weight, _ = _check_linear(op, x, weight, None)
    grad_out = _float_array(op, "grad_out", grad_out, ndim=2)
    _same_dtype(op, grad_out=grad_out, input=x)
    _check_grad_out(op, grad_out, (x.shape[0], weight.shape[0]))
    return grad_out, x, weight


def linear_backward(grad_out, x, weight, *, strategy=None):
    """Gradients of :func:`linear`: returns ``(grad_x, grad_weight, grad_bias)``."""
    grad_out, x, weight = _check_linear_backward("linear_backward", grad_out, x, weight)
    kernels = resolve(strategy).linear
    return (
        kernels.linear_backward_input(grad_out, weight),
        kernels.linear_backward_weight(grad_out, x),
        kernels.linear_backward_bias(grad_out),
    )


def linear_backward_parameters(grad_out, x, weight, *, strategy=None):
    """``(grad_weight, grad_bias)`` of :func:`linear`, without the input gradient (a first
    layer's input is data, which needs none)."""
    grad_out, x, weight = _check_linear_backward("linear_backward_parameters", grad_out, x,
                                                 weight)
    kernels = resolve(strategy).linear
    return kernels.linear_backward_weight(grad_out, x), kernels.linear_backward_bias(grad_out)


# --------------------------------------------------------------------------------------- conv2d


def _check_conv2d(op, x, weight, bias, stride, padding, dilation):
    x = _float_array(op, "input", x, ndim=4)
    weight = _float_array(op, "weight", weight, ndim=4)
    if min(weight.shape) < 1:
        raise ValueError(f"{op}: weight must have no empty dimension, got shape {weight.shape}")
    bias = _bias(op, bias, weight)
    _same_dtype(op, input=x, weight=weight, bias=bias)
    if x.shape[1] != weight.shape[1]:
        raise ValueError(
            f"{op}: expected input with {weight.shape[1]} channels (weight is {weight.shape}), "
            f"got shape {x.shape}"
        )
    stride, padding, dilation = _spatial_params(op, stride, padding, dilation)
    _check_window_fits(op, x.shape, weight.shape[2:], padding, dilation)
    return x, weight, bias, stride, padding, dilation


def conv2d_output_shape(input_shape, weight_shape, stride, padding, dilation):
    """``(N, C_out, H_out, W_out)`` of a convolution (all hyper-parameters as pairs)."""
    hw = [
        _output_size(input_shape[2 + a], weight_shape[2 + a], stride[a], padding[a], dilation[a])
        for a in (0, 1)
    ]
    return (input_shape[0], weight_shape[0], *hw)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, *, strategy=None):
    """2-D cross-correlation, as ``torch.nn.functional.conv2d``.

    x (N, C_in, H_in, W_in), weight (C_out, C_in, KH, KW), bias (C_out,) or None; stride,
    padding and dilation are ints or (h, w) pairs. Returns (N, C_out, H_out, W_out).
    """
    x, weight, bias, stride, padding, dilation = _check_conv2d(
        "conv2d", x, weight, bias, stride, padding, dilation
    )
    if bias is None:
        bias = np.zeros(weight.shape[0], dtype=x.dtype)
    return resolve(strategy).conv2d.conv2d_forward(x, weight, bias, stride, padding, dilation)


def _check_conv2d_backward(op, grad_out, x, weight, stride, padding, dilation):
    x, weight, _, stride, padding, dilation = _check_conv2d(
        op, x, weight, None, stride, padding, dilation
    )
    grad_out = _float_array(op, "grad_out", grad_out, ndim=4)
    _same_dtype(op, grad_out=grad_out, input=x)
    _check_grad_out(op, grad_out, conv2d_output_shape(x.shape, weight.shape, stride, padding,
                                                      dilation))
    return grad_out, x, weight, stride, padding, dilation


def conv2d_backward(grad_out, x, weight, stride=1, padding=0, dilation=1, *, strategy=None):
    """Gradients of :func:`conv2d`: returns ``(grad_x, grad_weight, grad_bias)``.

    grad_out (N, C_out, H_out, W_out) is dL/d(output); x and weight are the forward's arrays.
    """
    grad_out, x, weight, stride, padding, dilation = _check_conv2d_backward(
        "conv2d_backward", grad_out, x, weight, stride, padding, dilation
    )
    kernels = resolve(strategy).conv2d
    return (
        kernels.conv2d_backward_input(grad_out, weight, x.shape[2:], stride, padding, dilation),
        kernels.conv2d_backward_weight(grad_out, x, weight.shape[2:], stride, padding, dilation),
        kernels.conv2d_backward_bias(grad_out),
    )


def conv2d_backward_parameters(grad_out, x, weight, stride=1, padding=0, dilation=1, *,
                               strategy=None):
    """``(grad_weight, grad_bias)`` of :func:`conv2d`, without the input gradient: a first
    layer's input is data, which needs none (PyTorch skips it too: the data does not require
    grad). Arguments as for :func:`conv2d_backward`."""
    grad_out, x, weight, stride, padding, dilation = _check_conv2d_backward(
        "conv2d_backward_parameters", grad_out, x, weight, stride, padding, dilation
    )
    kernels = resolve(strategy).conv2d
    return (
        kernels.conv2d_backward_weight(grad_out, x, weight.shape[2:], stride, padding, dilation),
        kernels.conv2d_backward_bias(grad_out),
    )


# ----------------------------------------------------------------------------------- max_pool2d


def _check_max_pool2d(op, x, kernel_size, stride, padding, dilation, ceil_mode):
    x = _float_array(op, "input", x, ndim=4)
    kernel_size = _pair(op, "kernel_size", kernel_size, 1)
    stride = kernel_size if stride is None else stride
    stride, padding, dilation = _spatial_params(op, stride, padding, dilation)
    for k, p in zip(kernel_size, padding, strict=True):
        if p > k // 2:
            raise ValueError(
                f"{op}: padding must be at most half the kernel size {kernel_size}, "
                f"got {padding}"
            )
    if not isinstance(ceil_mode, bool | np.bool_):
        raise TypeError(f"{op}: ceil_mode must be a bool, got {ceil_mode!r}")
    _check_window_fits(op, x.shape, kernel_size, padding, dilation)
    out_hw = tuple(
        _output_size(x.shape[2 + a], kernel_size[a], stride[a], padding[a], dilation[a],
                     bool(ceil_mode))
        for a in (0, 1)
    )
    _check_windows_see_input(op, x.shape, kernel_size, stride, padding, dilation, out_hw)
    return x, kernel_size, stride, padding, dilation, out_hw


def _check_windows_see_input(op, x_shape, kernel, stride, padding, dilation, out_hw):
    """Reject a pooling window whose dilated taps all fall in the padding.

    Its max would be -inf with no input pixel to be the argmax (PyTorch returns an index outside
    the input plane there). Only windows starting in the left/top padding can miss the input: a
    ceil_mode window starts inside the input or the left padding.
    """
    for axis, size, k, s, p, d, out in zip(("height", "width"), x_shape[2:], kernel, stride,
                                           padding, dilation, out_hw, strict=True):
        for i in range(out):
            start = i * s - p
            if start >= 0:
                break
            first_inside = -(start // d)  # the first tap at or after pixel 0: ceil(-start / d)
            if first_inside >= k or start + first_inside * d >= size:
                raise ValueError(
                    f"{op}: with kernel {axis} {k}, dilation {d} and padding {p}, pooling window "
                    f"{i} along the {axis} holds only padding, no pixel of the input {axis} "
                    f"{size} (input shape {x_shape})"
                )


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, *,
               strategy=None):
    """Max-pooling, as ``torch.nn.functional.max_pool2d(..., return_indices=True)``.

    x (N, C, H_in, W_in). Returns ``(out, argmax)``, both (N, C, H_out, W_out); argmax is int64
    and holds, for each window, the flat index ``h * W_in + w`` of its maximum in the input plane
    (the first one in row-major window order on ties). Padding is ``-inf`` and never wins.
    """
    x, kernel_size, stride, padding, dilation, out_hw = _check_max_pool2d(
        "max_pool2d", x, kernel_size, stride, padding, dilation, ceil_mode
    )
    return resolve(strategy).max_pool2d.max_pool2d_forward(
        x, kernel_size, stride, padding, dilation, out_hw
    )


def max_pool2d_backward(grad_out, argmax, input_shape, *, strategy=None):
    """Gradient of :func:`max_pool2d`: each window's gradient goes to its argmax.

    grad_out and argmax (N, C, H_out, W_out), input_shape ``(N, C, H_in, W_in)``. Windows that
    share an argmax (overlapping windows) add their gradients. Returns (N, C, H_in, W_in).
    """
    op = "max_pool2d_backward"
    grad_out = _float_array(op, "grad_out", grad_out, ndim=4)
    if not isinstance(argmax, np.ndarray) or argmax.dtype != np.int64:
        raise TypeError(f"{op}: argmax must be an int64 numpy.ndarray from max_pool2d")
    if argmax.shape != grad_out.shape:
        raise ValueError(
            f"{op}: argmax shape {argmax.shape} must equal grad_out shape {grad_out.shape}"
        )
    input_shape = tuple(int(s) for s in input_shape)
    if len(input_shape) != 4 or input_shape[:2] != grad_out.shape[:2]:
        raise ValueError(
            f"{op}: input_shape must be (N, C, H_in, W_in) with N, C = {grad_out.shape[:2]}, "
            f"got {input_shape}"
        )
    plane = input_shape[2] * input_shape[3]
    if argmax.size and (argmax.min() < 0 or argmax.max() >= plane):
        raise ValueError(f"{op}: argmax holds indices outside an input plane of {plane} pixels")
    return resolve(strategy).max_pool2d.max_pool2d_backward(
        grad_out, np.ascontiguousarray(argmax), input_shape[2:]
    )


# ---------------------------------------------------------------------------------- activations


def _elementwise(op, kernel_name, strategy, *arrays, **scalars):
    """Run an elementwise kernel on the flattened arrays and give the result their shape."""
    names = ("grad_out", "input") if len(arrays) == 2 else ("input",)
    checked = [_float_array(op, n, a) for n, a in zip(names, arrays, strict=True)]
    if len(checked) == 2 and checked[0].shape != checked[1].shape:
        raise ValueError(
            f"{op}: grad_out shape {checked[0].shape} must equal the input shape "
            f"{checked[1].shape}"
        )
    _same_dtype(op, **dict(zip(names, checked, strict=True)))
    kernel = getattr(resolve(strategy).activation, kernel_name)
    flat = kernel(*(a.reshape(-1) for a in checked), *scalars.values())
    return flat.reshape(checked[0].shape)


def _slope(op, negative_slope):
    if isinstance(negative_slope, bool) or not isinstance(negative_slope, numbers.Real):
        raise TypeError(f"{op}: negative_slope must be a real number, got {negative_slope!r}")
    return float(negative_slope)


def relu(x, *, strategy=None):
    """``max(x, 0)`` elementwise, any shape."""
    return _elementwise("relu", "relu_forward", strategy, x)


def relu_backward(grad_out, x, *, strategy=None):
    """``grad_out * (x > 0)``; x is the forward's input."""
    return _elementwise("relu_backward", "relu_backward", strategy, grad_out, x)


def leaky_relu(x, negative_slope=0.01, *, strategy=None):
    """``x if x > 0 else negative_slope * x`` elementwise."""
    slope = _slope("leaky_relu", negative_slope)
    return _elementwise("leaky_relu", "leaky_relu_forward", strategy, x, slope=slope)


def leaky_relu_backward(grad_out, x, negative_slope=0.01, *, strategy=None):
    """``grad_out * (1 if x > 0 else negative_slope)``; x is the forward's input."""
    slope = _slope("leaky_relu_backward", negative_slope)
    return _elementwise("leaky_relu_backward", "leaky_relu_backward", strategy, grad_out, x,
                        slope=slope)


def sigmoid(x, *, strategy=None):
    """``1 / (1 + exp(-x))`` elementwise, without overflow for large ``|x|``."""
    return _elementwise("sigmoid", "sigmoid_forward", strategy, x)


def sigmoid_backward(grad_out, out, *, strategy=None):
    """``grad_out * out * (1 - out)``; out is the forward's *output*."""
    return _elementwise("sigmoid_backward", "sigmoid_backward", strategy, grad_out, out)


def tanh(x, *, strategy=None):
    """``tanh(x)`` elementwise."""
    return _elementwise("tanh", "tanh_forward", strategy, x)


def tanh_backward(grad_out, out, *, strategy=None):
    """``grad_out * (1 - out**2)``; out is the forward's *output*."""
    return _elementwise("tanh_backward", "tanh_backward", strategy, grad_out, out)


# -------------------------------------------------------------------------------------- flatten


def flatten(x, start_dim=1, *, strategy=None):
    """Merge the dimensions from ``start_dim`` on into one (a view; same for both strategies)."""
    resolve(strategy)
    x = _float_array("flatten", "input", x)
    start_dim = _int("flatten", "start_dim", start_dim, 0)
    if start_dim >= max(x.ndim, 1):
        raise ValueError(
            f"flatten: start_dim must be < input dimensions {x.ndim}, got {start_dim}"
        )
    # The merged size spelled out: NumPy cannot infer -1 when a batch has no images.
    return x.reshape(*x.shape[:start_dim], math.prod(x.shape[start_dim:]))


def flatten_backward(grad_out, input_shape, *, strategy=None):
    """Gradient of :func:`flatten`: ``grad_out`` reshaped to the forward's input shape."""
    resolve(strategy)
    grad_out = _float_array("flatten_backward", "grad_out", grad_out)
    input_shape = tuple(int(s) for s in input_shape)
    if int(np.prod(input_shape)) != grad_out.size:
        raise ValueError(
            f"flatten_backward: grad_out of shape {grad_out.shape} cannot take the input "
            f"shape {input_shape}"
        )
    return grad_out.reshape(input_shape)


# ---------------------------------------------------------------------------- cross-entropy


_REDUCTIONS = ("mean", "sum")


def _check_cross_entropy(op, logits, target, reduction):
    logits = _float_array(op, "logits", logits, ndim=2)
    if not isinstance(target, np.ndarray) or target.dtype.kind not in "iu":
        raise TypeError(
            f"{op}: target must be an integer numpy.ndarray of class indices, got "
            f"{getattr(target, 'dtype', type(target).__name__)}"
        )
    if target.shape != (logits.shape[0],):
        raise ValueError(
            f"{op}: target must have shape ({logits.shape[0]},) to match logits "
            f"{logits.shape}, got {target.shape}"
        )
    num_classes = logits.shape[1]
    if target.size and (target.min() < 0 or target.max() >= num_classes):
        raise ValueError(
            f"{op}: target holds class indices outside [0, {num_classes}): "
            f"min {target.min()}, max {target.max()}"
        )
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if reduction == "mean" and logits.shape[0] == 0:
        raise ValueError(f"{op}: the mean over an empty batch is undefined (logits {logits.shape})")
    return logits, np.ascontiguousarray(target, dtype=np.int64)


def cross_entropy(logits, target, reduction="mean", *, strategy=None):
    """Softmax cross-entropy, fused and stable: returns ``(loss, probs)``.

    logits (N, C) float, target (N,) integer class indices. ``loss`` is a Python float, the mean
    (or sum) over the batch of ``logsumexp(logits[n]) - logits[n, target[n]]``; ``probs`` (N, C)
    is the softmax, which :func:`cross_entropy_backward` needs.
    """
    logits, target = _check_cross_entropy("cross_entropy", logits, target, reduction)
    losses, probs = resolve(strategy).cross_entropy.cross_entropy_forward(logits, target)
    total = float(losses.sum())
    return (total / logits.shape[0] if reduction == "mean" else total), probs


def cross_entropy_backward(probs, target, reduction="mean", *, strategy=None):
    """dL/dlogits of :func:`cross_entropy`: ``(probs - onehot(target)) * scale``.

    ``scale`` is ``1 / N`` for ``reduction="mean"`` and 1 for ``"sum"``.
    """
    probs, target = _check_cross_entropy("cross_entropy_backward", probs, target, reduction)
    scale = 1.0 / probs.shape[0] if reduction == "mean" else 1.0
    return resolve(strategy).cross_entropy.cross_entropy_backward(probs, target, scale)
