"""Layer normalisation with NumPy reductions along the rows.

Same functions, shapes and equations as :mod:`mint.kernels.layer_norm`: x, grad_out (R, D),
weight and bias (D,), mean and invstd (R,); row sums in float64.
"""

import numpy as np


def layer_norm_forward(x, weight, bias, eps):
    """(out (R, D), mean (R,), invstd (R,)): each row normalised by its own mean and biased
    variance, then scaled and shifted per column."""
    mean = x.mean(axis=1, dtype=np.float64)
    var = np.square(x - mean[:, None]).mean(axis=1, dtype=np.float64)
    invstd = 1 / np.sqrt(var + eps)
    out = (x - mean[:, None]) * invstd[:, None] * weight + bias
    return out.astype(x.dtype), mean.astype(x.dtype), invstd.astype(x.dtype)


def layer_norm_backward_parameters(grad_out, x, mean, invstd):
    """(grad_weight (D,), grad_bias (D,)) = (sum of grad_out * xhat, sum of grad_out) over the
    rows, with xhat = (x - mean) * invstd."""
    xhat = (x - mean[:, None]) * invstd[:, None]
    return ((grad_out * xhat).sum(axis=0, dtype=np.float64).astype(x.dtype),
            grad_out.sum(axis=0, dtype=np.float64).astype(x.dtype))


def layer_norm_backward_input(grad_out, x, mean, invstd, weight):
    """grad_x (R, D) = invstd * (g - mean of g - xhat * mean of g * xhat) per row, with
    g = weight * grad_out and xhat = (x - mean) * invstd."""
    xhat = (x - mean[:, None]) * invstd[:, None]
    g = grad_out * weight
    mean_g = g.mean(axis=1, dtype=np.float64)[:, None]
    mean_g_xhat = (g * xhat).mean(axis=1, dtype=np.float64)[:, None]
    return (invstd[:, None] * (g - mean_g - xhat * mean_g_xhat)).astype(x.dtype)
