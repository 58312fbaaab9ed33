"""2-D convolution (cross-correlation, as PyTorch's ``conv2d``), grouped or not, the transposed
convolution (``conv_transpose2d``), and their gradients.

The transposed convolution has no kernels of its own: its forward is the input gradient of a
convolution, its gradients are a convolution's forward and weight gradient (section 3.8 of
``docs/backprop.md``).
"""

import numpy as np

from mint import _checks as check
from mint.strategy import STRATEGIES, resolve


def _check_weights(op, x, weight, bias, groups, bias_channels):
    """x and weight as 4-D float arrays, the bias, and groups, which must divide the channels
    of ``weight``'s first dimension (and ``bias_channels`` the bias must have)."""
    x = check.float_array(op, "input", x, ndim=4)
    weight = check.float_array(op, "weight", weight, ndim=4)
    if min(weight.shape) < 1:
        raise ValueError(f"{op}: weight must have no empty dimension, got shape {weight.shape}")
    groups = check.integer(op, "groups", groups, 1)
    if weight.shape[0] % groups:
        raise ValueError(f"{op}: groups={groups} must divide the first dimension of weight "
                         f"{weight.shape}")
    bias = check.bias(op, bias, weight, bias_channels(weight, groups))
    check.same_dtype(op, input=x, weight=weight, bias=bias)
    return x, weight, bias, groups


def conv2d_padding_amounts(padding, kernel_hw, dilation):
    """``(before, extra)``: the zero rows and columns on each side, (PH, PW), and the extra ones
    after the input, (EH, EW), that a convolution's padding (a pair, "valid" or "same") means.
    "same" pads ``D * (K - 1)`` in all, half of it before the input and the rest after
    (PyTorch's rule: the odd one goes to the bottom and right)."""
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding == "same":
        totals = [d * (k - 1) for k, d in zip(kernel_hw, dilation, strict=True)]
        return tuple(t // 2 for t in totals), tuple(t % 2 for t in totals)
    return padding, (0, 0)


def _padded_after(x, extra):
    """x (N, C, H, W) with ``extra`` (EH, EW) zero rows and columns after it."""
    if extra == (0, 0):
        return x
    return np.pad(x, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])))


def _check_conv2d(op, x, weight, bias, stride, padding, dilation, groups):
    """The validated arguments, padding as ``(before, extra)`` (:func:`conv2d_padding_amounts`)."""
    x, weight, bias, groups = _check_weights(op, x, weight, bias, groups,
                                             lambda weight, groups: weight.shape[0])
    if x.shape[1] != weight.shape[1] * groups:
        grouped = f" times groups={groups}" if groups != 1 else ""
        raise ValueError(
            f"{op}: expected input with {weight.shape[1] * groups} channels (weight is "
            f"{weight.shape}{grouped}), got shape {x.shape}"
        )
    stride = check.pair(op, "stride", stride, 1)
    padding = check.conv_padding(op, padding, stride)
    dilation = check.pair(op, "dilation", dilation, 1)
    before, extra = conv2d_padding_amounts(padding, weight.shape[2:], dilation)
    extended = (*x.shape[:2], x.shape[2] + extra[0], x.shape[3] + extra[1])
    check.window_fits(op, extended, weight.shape[2:], before, dilation)
    return x, weight, bias, stride, (before, extra), dilation, groups


def conv2d_output_shape(input_shape, weight_shape, stride, padding, dilation):
    """``(N, C_out, H_out, W_out)`` of a convolution: stride and dilation pairs, padding a pair,
    "valid" or "same"."""
    before, extra = conv2d_padding_amounts(padding, weight_shape[2:], dilation)
    hw = [
        check.output_size(input_shape[2 + a] + extra[a], weight_shape[2 + a], stride[a],
                          before[a], dilation[a])
        for a in (0, 1)
    ]
    return (input_shape[0], weight_shape[0], *hw)


ALGORITHMS = ("auto", "direct", "winograd")
# "auto" takes Winograd for the forward and the input gradient of eligible convolutions with at
# least this many input and output channels: below, the transforms cost more than the products
# they save (one thread, 64 images: 1.25-2.1x faster than direct from 8 channels up, 0.5x with 4
# input channels). Its weight gradient (1.0-1.5x faster from 16 channels up) only on request:
# its rounding error, 5-12x the direct sum's, changes with the way the batch is split, and made
# two processes of 32 images drift 1e-3 from one of 64 within two epochs of the digits
# (tests/test_distributed.py asks 1e-5, which the direct sums keep).
_WINOGRAD_MIN_CHANNELS = 8


def check_algorithm(op, algorithm, kernel_hw, stride, padding, dilation, groups):
    """``algorithm`` if it is one of ALGORITHMS and, when it is "winograd", the convolution is
    one F(4x4, 3x3) computes (section 3.9): a 3x3 kernel, stride 1, dilation 1, one group,
    padding (a pair, "valid" or "same") at most 2 on each side. ValueError saying why not."""
    check.choice(op, "algorithm", algorithm, ALGORITHMS)
    if algorithm == "winograd":
        reason = _winograd_ineligibility(kernel_hw, stride, padding, dilation, groups)
        if reason:
            raise ValueError(f"{op}: algorithm='winograd' needs a 3x3 kernel with stride 1, "
                             f"dilation 1, groups 1 and padding at most 2, but {reason}")
    return algorithm


def _winograd_ineligibility(kernel_hw, stride, padding, dilation, groups):
    """Why F(4x4, 3x3) cannot compute this convolution, or "" if it can."""
    before, extra = conv2d_padding_amounts(padding, kernel_hw, dilation)
    reasons = (
        (tuple(kernel_hw) != (3, 3), f"kernel_size is {tuple(kernel_hw)}"),
        (stride != (1, 1), f"stride is {stride}"),
        (dilation != (1, 1), f"dilation is {dilation}"),
        (groups != 1, f"groups is {groups}"),
        (max(before) > 2 or extra != (0, 0), f"padding is {padding}"),
    )
    return "; ".join(reason for failed, reason in reasons if failed)


def _uses_winograd(op, algorithm, weight, stride, padding, dilation, groups, strategy):
    """True for Winograd, False for the direct kernels: ``algorithm`` checked
    (:func:`check_algorithm`), "auto" resolved to Winograd for the loop strategy and an eligible
    convolution with at least _WINOGRAD_MIN_CHANNELS input and output channels. (The NumPy twin
    of Winograd is slower than im2col's one product: 1.3-2x for fwd+bwd of 4x4 to 28x28 maps.)"""
    kernel_hw = weight.shape[2:]
    if check_algorithm(op, algorithm, kernel_hw, stride, padding, dilation, groups) != "auto":
        return algorithm == "winograd"
    return (resolve(strategy) is STRATEGIES["loop"]
            and min(weight.shape[:2]) >= _WINOGRAD_MIN_CHANNELS
            and not _winograd_ineligibility(kernel_hw, stride, padding, dilation, groups))


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, strategy=None,
           algorithm="auto"):
    """2-D cross-correlation, as ``torch.nn.functional.conv2d``.

    x (N, C_in, H_in, W_in), weight (C_out, C_in / groups, KH, KW), bias (C_out,) or None;
    stride and dilation are ints or (h, w) pairs, padding an int, a pair, "valid" or "same"
    (stride 1 only; an odd total ``D * (K - 1)`` puts its extra row and column after the
    input). ``groups`` splits the channels into that many independent convolutions (G1):
    ``groups == C_in`` is a depthwise convolution. Returns (N, C_out, H_out, W_out).

    ``algorithm``: "direct" sums (C1) as written; "winograd" uses F(4x4, 3x3) minimal filtering
    (W1), 4x fewer multiplications, for 3x3 kernels with stride 1, dilation 1, one group and
    padding at most 2 (ValueError otherwise; its float32 error is a few times the direct
    sum's, section 3.9 of docs/backprop.md); "auto" (the default) takes Winograd with the loop
    strategy where it is eligible and both channel counts are at least 8, where it was measured
    faster, and direct elsewhere. :func:`conv2d_backward` takes it for the input gradient
    likewise, and for the weight gradient only with "winograd" (its rounding depends on how
    the batch is split).
    """
    x, weight, bias, stride, (padding, extra), dilation, groups = _check_conv2d(
        "conv2d", x, weight, bias, stride, padding, dilation, groups
    )
    winograd = _uses_winograd("conv2d", algorithm, weight, stride, padding, dilation, groups,
                              strategy)
    if bias is None:
        bias = np.zeros(weight.shape[0], dtype=x.dtype)
    if winograd:
        return resolve(strategy).winograd.conv2d_forward(x, weight, bias, padding)
    return resolve(strategy).conv2d.conv2d_forward(_padded_after(x, extra), weight, bias, stride,
                                                   padding, dilation, groups)


def _check_conv2d_backward(op, grad_out, x, weight, stride, padding, dilation, groups):
    x, weight, _, stride, padding, dilation, groups = _check_conv2d(
        op, x, weight, None, stride, padding, dilation, groups
    )
    grad_out = check.float_array(op, "grad_out", grad_out, ndim=4)
    check.same_dtype(op, grad_out=grad_out, input=x)
    before, extra = padding
    extended = (*x.shape[:2], x.shape[2] + extra[0], x.shape[3] + extra[1])
    check.grad_out_shape(op, grad_out, conv2d_output_shape(extended, weight.shape, stride,
                                                           before, dilation))
    return grad_out, x, weight, stride, padding, dilation, groups


def conv2d_backward(grad_out, x, weight, stride=1, padding=0, dilation=1, groups=1, *,
                    strategy=None, algorithm="auto", bias=True):
    """Gradients of :func:`conv2d`: returns ``(grad_x, grad_weight, grad_bias)``.

    grad_out (N, C_out, H_out, W_out) is dL/d(output); x and weight are the forward's arrays;
    ``algorithm`` as for :func:`conv2d`: Winograd computes the input gradient by (W6) and the
    weight gradient by (W7). ``bias=False`` (a forward without bias) skips the bias gradient's
    sum and returns None for it.
    """
    grad_out, x, weight, stride, (padding, extra), dilation, groups = _check_conv2d_backward(
        "conv2d_backward", grad_out, x, weight, stride, padding, dilation, groups
    )
    bias = check.boolean("conv2d_backward", "bias", bias)
    kernels = resolve(strategy).conv2d
    if _uses_winograd("conv2d_backward", algorithm, weight, stride, padding, dilation, groups,
                      strategy):
        grad_x = resolve(strategy).winograd.conv2d_backward_input(grad_out, weight, x.shape[2:],
                                                                  padding)
    else:
        x_extended = _padded_after(x, extra)
        grad_x = kernels.conv2d_backward_input(grad_out, weight, x_extended.shape[2:], stride,
                                               padding, dilation, groups)
        if extra != (0, 0):  # the extra rows and columns are padding: their gradient is dropped
            grad_x = np.ascontiguousarray(grad_x[:, :, :x.shape[2], :x.shape[3]])
    return (grad_x, _weight_gradient("conv2d_backward", grad_out, x, weight, stride, padding,
                                     extra, dilation, groups, strategy, algorithm),
            _bias_gradient(kernels, grad_out, bias))


def _bias_gradient(kernels, grad_out, bias):
    """dL/dbias (C3), or None when ``bias`` says the forward had none."""
    return kernels.conv2d_backward_bias(grad_out) if bias else None


def _weight_gradient(op, grad_out, x, weight, stride, padding, extra, dilation, groups, strategy,
                     algorithm):
    """dL/dweight by Winograd (W7) for ``algorithm="winograd"`` (checked), else directly (C4):
    "auto" keeps the direct sums here (the note at _WINOGRAD_MIN_CHANNELS)."""
    kernels = resolve(strategy)
    if check_algorithm(op, algorithm, weight.shape[2:], stride, padding, dilation,
                       groups) == "winograd":
        return kernels.winograd.conv2d_backward_weight(grad_out, x, padding)
    return kernels.conv2d.conv2d_backward_weight(grad_out, _padded_after(x, extra),
                                                 weight.shape[2:], stride, padding, dilation,
                                                 groups)


def conv2d_backward_parameters(grad_out, x, weight, stride=1, padding=0, dilation=1, groups=1, *,
                               strategy=None, algorithm="auto", bias=True):
    """``(grad_weight, grad_bias)`` of :func:`conv2d`, without the input gradient: a first
    layer's input is data, which needs none (PyTorch skips it too: the data does not require
    grad). Arguments as for :func:`conv2d_backward`."""
    grad_out, x, weight, stride, (padding, extra), dilation, groups = _check_conv2d_backward(
        "conv2d_backward_parameters", grad_out, x, weight, stride, padding, dilation, groups
    )
    bias = check.boolean("conv2d_backward_parameters", "bias", bias)
    return (_weight_gradient("conv2d_backward_parameters", grad_out, x, weight, stride, padding,
                             extra, dilation, groups, strategy, algorithm),
            _bias_gradient(resolve(strategy).conv2d, grad_out, bias))


# --------------------------------------------------------------------- transposed convolution


def _check_conv_transpose2d(op, x, weight, bias, stride, padding, output_padding, groups,
                            dilation):
    """The validated arguments and the output size (H_out, W_out) of (T2)."""
    x, weight, bias, groups = _check_weights(op, x, weight, bias, groups,
                                             lambda weight, groups: weight.shape[1] * groups)
    if x.shape[1] != weight.shape[0]:
        raise ValueError(f"{op}: expected input with {weight.shape[0]} channels (weight is "
                         f"{weight.shape}), got shape {x.shape}")
    if min(x.shape[2:]) < 1:
        raise ValueError(f"{op}: input must have a height and width >= 1, got shape {x.shape}")
    stride, padding, dilation = check.spatial(op, stride, padding, dilation)
    output_padding = check.output_padding(op, output_padding, stride, dilation)
    out_hw = tuple(
        (size - 1) * s - 2 * p + d * (k - 1) + o + 1
        for size, k, s, p, d, o in zip(x.shape[2:], weight.shape[2:], stride, padding, dilation,
                                       output_padding, strict=True)
    )
    if min(out_hw) < 1:
        raise ValueError(f"{op}: padding {padding} leaves an empty output: (H_out, W_out) "
                         f"would be {out_hw} for input shape {x.shape} and weight "
                         f"{weight.shape}")
    return x, weight, bias, stride, padding, dilation, groups, out_hw


def conv_transpose2d_output_shape(input_shape, weight_shape, stride, padding, output_padding,
                                  groups, dilation):
    """``(N, C_out, H_out, W_out)`` of a transposed convolution, equation (T2) (all
    hyper-parameters but groups as pairs)."""
    hw = [(input_shape[2 + a] - 1) * stride[a] - 2 * padding[a]
          + dilation[a] * (weight_shape[2 + a] - 1) + output_padding[a] + 1 for a in (0, 1)]
    return (input_shape[0], weight_shape[1] * groups, *hw)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, *, strategy=None):
    """2-D transposed convolution, as ``torch.nn.functional.conv_transpose2d`` (same argument
    order): the adjoint of :func:`conv2d`, equation (T1).

    x (N, C_in, H_in, W_in), weight (C_in, C_out / groups, KH, KW), bias (C_out,) or None;
    stride, padding, output_padding and dilation are ints or (h, w) pairs, output_padding
    smaller than stride or dilation. Returns (N, C_out, H_out, W_out), sizes by (T2): the input
    gradient of the convolution with this weight, stride, padding and dilation, of an input of
    that size.
    """
    x, weight, bias, stride, padding, dilation, groups, out_hw = _check_conv_transpose2d(
        "conv_transpose2d", x, weight, bias, stride, padding, output_padding, groups, dilation
    )
    out = resolve(strategy).conv2d.conv2d_backward_input(x, weight, out_hw, stride, padding,
                                                         dilation, groups)
    if bias is not None:
        out += bias.reshape(-1, 1, 1)
    return out


def _check_conv_transpose2d_backward(op, grad_out, x, weight, stride, padding, output_padding,
                                     groups, dilation):
    x, weight, _, stride, padding, dilation, groups, out_hw = _check_conv_transpose2d(
        op, x, weight, None, stride, padding, output_padding, groups, dilation
    )
    grad_out = check.float_array(op, "grad_out", grad_out, ndim=4)
    check.same_dtype(op, grad_out=grad_out, input=x)
    check.grad_out_shape(op, grad_out, (x.shape[0], weight.shape[1] * groups, *out_hw))
    return grad_out, x, weight, stride, padding, dilation, groups


def conv_transpose2d_backward(grad_out, x, weight, stride=1, padding=0, output_padding=0,
                              groups=1, dilation=1, *, strategy=None, bias=True):
    """Gradients of :func:`conv_transpose2d`, (T3) to (T5): ``(grad_x, grad_weight,
    grad_bias)``. grad_out (N, C_out, H_out, W_out) is dL/d(output); x and weight are the
    forward's arrays.

    The input gradient is the convolution of grad_out with the same weight (T3); with an
    output_padding of at least the stride, that convolution has more rows or columns than x,
    and the first ones are the gradient. ``bias=False``: grad_bias is None, as for
    :func:`conv2d_backward`.
    """
    grad_out, x, weight, stride, padding, dilation, groups = _check_conv_transpose2d_backward(
        "conv_transpose2d_backward", grad_out, x, weight, stride, padding, output_padding,
        groups, dilation
    )
    bias = check.boolean("conv_transpose2d_backward", "bias", bias)
    kernels = resolve(strategy).conv2d
    no_bias = np.zeros(weight.shape[0], dtype=x.dtype)
    grad_x = kernels.conv2d_forward(grad_out, weight, no_bias, stride, padding, dilation, groups)
    if grad_x.shape != x.shape:
        grad_x = np.ascontiguousarray(grad_x[:, :, :x.shape[2], :x.shape[3]])
    return (grad_x, *_conv_transpose2d_parameter_gradients(
        kernels, grad_out, x, weight, stride, padding, dilation, groups, bias))


def _conv_transpose2d_parameter_gradients(kernels, grad_out, x, weight, stride, padding,
                                          dilation, groups, bias):
    """(T4): the convolution's weight gradient with x as its output gradient and grad_out as
    its input; (T5): the convolution's bias gradient of grad_out (None without ``bias``)."""
    return (
        kernels.conv2d_backward_weight(x, grad_out, weight.shape[2:], stride, padding, dilation,
                                       groups),
        _bias_gradient(kernels, grad_out, bias),
    )


def conv_transpose2d_backward_parameters(grad_out, x, weight, stride=1, padding=0,
                                         output_padding=0, groups=1, dilation=1, *,
                                         strategy=None, bias=True):
    """``(grad_weight, grad_bias)`` of :func:`conv_transpose2d`, without the input gradient
    (for a first layer). Arguments as for :func:`conv_transpose2d_backward`."""
    grad_out, x, weight, stride, padding, dilation, groups = _check_conv_transpose2d_backward(
        "conv_transpose2d_backward_parameters", grad_out, x, weight, stride, padding,
        output_padding, groups, dilation
    )
    bias = check.boolean("conv_transpose2d_backward_parameters", "bias", bias)
    return _conv_transpose2d_parameter_gradients(
        resolve(strategy).conv2d, grad_out, x, weight, stride, padding, dilation, groups, bias)
