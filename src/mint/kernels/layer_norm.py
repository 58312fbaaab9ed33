"""Layer normalisation: per-row statistics, the normalisation and its gradients, as Numba
loops.

Shapes (see :mod:`mint.kernels`): x, out, grad_out and grad_x (R, D), the input of
``LayerNorm`` with its normalised trailing dimensions in one axis of D values and every other
dimension in the R rows; weight, bias and their gradients (D,); mean and invstd (R,).
``docs/backprop.md`` (section "Layer normalisation"):

    statistics          mean[r] = sum_d x[r, d] / D,  var[r] = sum_d (x[r, d] - mean[r])^2 / D
                        invstd[r] = 1 / sqrt(var[r] + eps)                               (N1)
    forward             xhat = (x - mean[r]) * invstd[r],  out = weight[d] * xhat + bias[d]  (N2)
    parameter gradients grad_weight[d] = sum_r grad_out * xhat,
                        grad_bias[d]   = sum_r grad_out                                  (N3)
    input gradient      g = weight[d] * grad_out[r, d]
                        grad_x = invstd[r] * (g - mean_d(g) - xhat * mean_d(g * xhat))   (N4)

Batch normalisation's equations with the roles of the axes exchanged: the statistics are
per row, the weight per column. Row sums run in float64 whatever the dtype, the variance
subtracting the mean first (two passes), as batch normalisation's.
"""

import numpy as np
from numba import njit, prange

# Columns per parallel task of the parameter gradients: each task walks every row, reading its
# run of columns contiguously.
_COLUMNS_PER_TASK = 16


@njit(parallel=True, cache=True)
def _layer_norm_forward(x, weight, bias, eps, out, mean, invstd):
    R, D = x.shape
    # Iteration r writes only row r of out, mean[r] and invstd[r].
    for r in prange(R):
        total = 0.0
        for d in range(D):
            total += x[r, d]
        row_mean = total / D
        squares = 0.0
        for d in range(D):
            deviation = x[r, d] - row_mean
            squares += deviation * deviation
        row_invstd = 1.0 / np.sqrt(squares / D + eps)
        for d in range(D):
            out[r, d] = (x[r, d] - row_mean) * row_invstd * weight[d] + bias[d]
        mean[r] = row_mean
        invstd[r] = row_invstd


def layer_norm_forward(x, weight, bias, eps):
    """(out (R, D), mean (R,), invstd (R,)): each row normalised by its own mean and biased
    variance, then scaled and shifted per column (N1, N2)."""
    R = x.shape[0]
    out, mean, invstd = np.empty_like(x), np.empty(R, x.dtype), np.empty(R, x.dtype)
    _layer_norm_forward(x, weight, bias, eps, out, mean, invstd)
    return out, mean, invstd


@njit(parallel=True, cache=True)
def _layer_norm_backward_parameters(grad_out, x, mean, invstd, grad_weight, grad_bias):
    R, D = x.shape
    tasks = (D + _COLUMNS_PER_TASK - 1) // _COLUMNS_PER_TASK
    # Iteration `task` writes only its run of columns d0:d1 of grad_weight and grad_bias.
    for task in prange(tasks):
        d0 = task * _COLUMNS_PER_TASK
        d1 = min(d0 + _COLUMNS_PER_TASK, D)
        weighted = np.zeros(d1 - d0)  # float64 sums
        total = np.zeros(d1 - d0)
        for r in range(R):
            centre, spread = mean[r], invstd[r]
            for d in range(d0, d1):
                total[d - d0] += grad_out[r, d]
                weighted[d - d0] += grad_out[r, d] * ((x[r, d] - centre) * spread)
        for d in range(d0, d1):
            grad_weight[d] = weighted[d - d0]
            grad_bias[d] = total[d - d0]


def layer_norm_backward_parameters(grad_out, x, mean, invstd):
    """(grad_weight (D,), grad_bias (D,)) = (sum of grad_out * xhat, sum of grad_out) over the
    rows, with xhat = (x - mean) * invstd (N3)."""
    D = x.shape[1]
    grad_weight, grad_bias = np.empty(D, x.dtype), np.empty(D, x.dtype)
    _layer_norm_backward_parameters(grad_out, x, mean, invstd, grad_weight, grad_bias)
    return grad_weight, grad_bias


@njit(parallel=True, cache=True)
def _layer_norm_backward_input(grad_out, x, mean, invstd, weight, grad_x):
    R, D = x.shape
    # Iteration r writes only row r of grad_x, from row r of grad_out and x.
    for r in prange(R):
        centre, spread = mean[r], invstd[r]
        mean_g = 0.0  # float64 sums of g and g * xhat over the row
        mean_g_xhat = 0.0
        for d in range(D):
            g = weight[d] * grad_out[r, d]
            mean_g += g
            mean_g_xhat += g * ((x[r, d] - centre) * spread)
        mean_g /= D
        mean_g_xhat /= D
        for d in range(D):
            xhat = (x[r, d] - centre) * spread
            grad_x[r, d] = spread * (weight[d] * grad_out[r, d] - mean_g - xhat * mean_g_xhat)


def layer_norm_backward_input(grad_out, x, mean, invstd, weight):
    """grad_x (R, D) = invstd * (g - mean of g - xhat * mean of g * xhat) per row, with
    g = weight * grad_out and xhat = (x - mean) * invstd (N4)."""
    grad_x = np.empty_like(grad_out)
    _layer_norm_backward_input(grad_out, x, mean, invstd, weight, grad_x)
    return grad_x
