"""Dropout's mask applied with NumPy broadcasting: same functions, shapes and equations (D1),
(D2) as :mod:`mint.kernels.dropout` (x (R, L), keep (R,) bool, scale 1 / (1 - p) or 0)."""


def _factors(keep, scale, dtype):
    """(R, 1): scale in the rows kept, 0 in the others, in the arrays' dtype."""
    return (keep * dtype.type(scale)).astype(dtype, copy=False)[:, None]


def dropout_forward(x, keep, scale):
    """out (R, L) = x * scale in the rows kept, x * 0 in the others, (D1)."""
    return x * _factors(keep, scale, x.dtype)


def dropout_backward(grad_out, keep, scale):
    """grad_x (R, L) = grad_out * scale in the rows kept, grad_out * 0 in the others, (D2)."""
    return grad_out * _factors(keep, scale, grad_out.dtype)
