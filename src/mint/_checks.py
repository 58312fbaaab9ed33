"""Argument checks shared by :mod:`mint.functional`, the layers of :mod:`mint.nn` and the
optimizers: one place for each rule, so every op and layer rejects bad input the same way.

Each check takes ``op``, the name of the function or class that reports the error, and the
argument's ``name``, and returns the value normalised (an int, a pair, a C-contiguous array) or
raises ``TypeError`` (wrong kind of value) / ``ValueError`` (right kind, wrong value) naming both.
"""

import math
import numbers

import numpy as np

from mint.strategy import STRATEGIES

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
REDUCTIONS = ("mean", "sum", "none")


# ------------------------------------------------------------------------------ Python values


def integer(op, name, value, minimum):
    """``value`` as an int >= ``minimum`` (bools are refused: ``True`` is not a size)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{op}: {name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value}")
    return int(value)


def pair(op, name, value, minimum):
    """An int or a pair of ints, each >= ``minimum``, as a tuple ``(h, w)``."""
    if isinstance(value, tuple | list):
        if len(value) != 2:
            raise ValueError(f"{op}: {name} must be an int or a pair (h, w), got {value!r}")
        return tuple(integer(op, name, v, minimum) for v in value)
    value = integer(op, name, value, minimum)
    return (value, value)


def real(op, name, value, minimum=-math.inf, below=None):
    """``value`` as a finite float in ``[minimum, below)`` (no bound where not given)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{op}: {name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < minimum or (below is not None and value >= below):
        if below is not None:
            interval = f" [{minimum}, {below})"
        else:
            interval = f" >= {minimum}" if minimum > -math.inf else ""
        raise ValueError(f"{op}: {name} must be a finite number{interval}, got {value}")
    return value


def dim(op, name, value, ndim):
    """``value`` as an axis of an array with ``ndim`` dimensions, in ``[0, ndim)``; negative
    values count from the end, as in PyTorch (a 0-d array has one axis, 0 or -1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{op}: {name} must be an int, got {value!r}")
    axes = max(ndim, 1)
    if not -axes <= value < axes:
        raise ValueError(
            f"{op}: {name} must be in [{-axes}, {axes - 1}] for an input with {ndim} "
            f"dimensions, got {value}"
        )
    return int(value) % axes


def positive_ints(op, name, value, length_ok, expected):
    """``value`` (a tuple or list of ints >= 1 whose length passes ``length_ok``) as a tuple,
    else a ValueError saying it must be ``expected``: a shape."""
    shape = tuple(value) if isinstance(value, tuple | list) else None
    if (
        shape is None
        or not length_ok(len(shape))
        or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in shape)
        or min(shape) < 1
    ):
        raise ValueError(f"{op}: {name} must be {expected}, got {value!r}")
    return tuple(int(s) for s in shape)


def boolean(op, name, value):
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{op}: {name} must be a bool, got {value!r}")
    return bool(value)


def choice(op, name, value, allowed):
    """``value`` if it is one of ``allowed`` (a reduction, a mode name)."""
    if value not in allowed:
        raise ValueError(f"{op}: {name} must be one of {tuple(allowed)}, got {value!r}")
    return value


def strategy(op, value):
    """``value`` if it is ``None`` (the default at call time) or a registered strategy name."""
    if value is not None and value not in STRATEGIES:
        raise ValueError(
            f"{op}: strategy must be None or one of {sorted(STRATEGIES)}, got {value!r}"
        )
    return value


def float_dtype(op, dtype):
    """``dtype`` as ``numpy.dtype`` float32 or float64."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{op}: dtype must be float32 or float64, got {dtype!r}") from None
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"{op}: dtype must be float32 or float64, got {dtype}")
    return dtype


# ----------------------------------------------------------------------------------- arrays


def float_array(op, name, array, ndim=None):
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


def same_dtype(op, **arrays):
    """Refuse arrays (``None`` skipped) of different dtypes: kernels compute in one dtype."""
    dtypes = {name: a.dtype for name, a in arrays.items() if a is not None}
    if len(set(dtypes.values())) > 1:
        listed = ", ".join(f"{name} {dtype}" for name, dtype in dtypes.items())
        raise TypeError(f"{op}: arrays must share one dtype, got {listed}")


def bias(op, value, weight, channels=None):
    """``value`` (None, or one number per output channel: ``channels``, by default the first
    dimension of ``weight``) made C-contiguous."""
    if value is None:
        return None
    value = float_array(op, "bias", value, ndim=1)
    channels = weight.shape[0] if channels is None else channels
    if value.shape[0] != channels:
        raise ValueError(
            f"{op}: bias must have shape ({channels},) to match weight "
            f"{weight.shape}, got {value.shape}"
        )
    return value


def grad_out_shape(op, grad_out, expected_shape):
    if grad_out.shape != tuple(expected_shape):
        raise ValueError(
            f"{op}: grad_out must have shape {tuple(expected_shape)} (the forward output), "
            f"got {grad_out.shape}"
        )


# --------------------------------------------------------------------- windows (conv, pooling)


def spatial(op, stride, padding, dilation):
    """``stride`` (>= 1), ``padding`` (>= 0) and ``dilation`` (>= 1) as ``(h, w)`` pairs."""
    return pair(op, "stride", stride, 1), pair(op, "padding", padding, 0), pair(
        op, "dilation", dilation, 1
    )


PADDING_STRINGS = ("valid", "same")


def conv_padding(op, padding, stride):
    """A convolution's ``padding``: ``"valid"`` (none), ``"same"`` (output as large as the
    input, which needs ``stride`` (a pair) 1, as in PyTorch), or an int or pair >= 0."""
    if isinstance(padding, str):
        choice(op, "padding", padding, PADDING_STRINGS)
        if padding == "same" and stride != (1, 1):
            raise ValueError(f"{op}: padding='same' needs stride 1 (the output of a strided "
                             f"convolution cannot be as large as its input), got stride {stride}")
        return padding
    return pair(op, "padding", padding, 0)


def output_padding(op, value, stride, dilation):
    """A transposed convolution's ``output_padding``, an int or pair >= 0 and, per axis, smaller
    than the stride or the dilation (pairs), as PyTorch requires."""
    value = pair(op, "output_padding", value, 0)
    if any(o >= max(s, d) for o, s, d in zip(value, stride, dilation, strict=True)):
        raise ValueError(f"{op}: output_padding must be smaller than stride or dilation "
                         f"(PyTorch's rule), got output_padding {value}, stride {stride}, "
                         f"dilation {dilation}")
    return value


def pooling(op, kernel_size, stride, padding, dilation, ceil_mode):
    """The hyper-parameters of a pooling window, normalised: ``(kernel_size, stride, padding,
    dilation, ceil_mode)``, pairs and a bool. ``stride=None`` means the kernel size; padding is
    at most half the kernel (PyTorch's rule), so no window lies wholly in the padding."""
    kernel_size = pair(op, "kernel_size", kernel_size, 1)
    stride, padding, dilation = spatial(op, kernel_size if stride is None else stride, padding,
                                        dilation)
    if any(p > k // 2 for p, k in zip(padding, kernel_size, strict=True)):
        raise ValueError(
            f"{op}: padding must be at most half the kernel size {kernel_size}, got {padding}"
        )
    return kernel_size, stride, padding, dilation, boolean(op, "ceil_mode", ceil_mode)


def output_size(size, kernel, stride, padding, dilation, ceil_mode=False):
    """Output length of a window op along one axis (PyTorch's formula)."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if span < 0:
        return 0
    out = -(-span // stride) + 1 if ceil_mode else span // stride + 1
    # A ceil_mode window must start inside the input or the left padding.
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def window_fits(op, x_shape, kernel, padding, dilation):
    """Refuse a (dilated) window wider than the padded input: the output would be empty."""
    for axis, size, k, p, d in zip(("height", "width"), x_shape[2:], kernel, padding, dilation,
                                   strict=True):
        extent = d * (k - 1) + 1
        if extent > size + 2 * p:
            raise ValueError(
                f"{op}: kernel {axis} {k} with dilation {d} spans {extent} pixels, more than "
                f"the padded input {axis} {size} + 2 * {p} = {size + 2 * p} "
                f"(input shape {x_shape})"
            )
