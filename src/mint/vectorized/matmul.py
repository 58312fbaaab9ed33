"""Batched matrix products with NumPy's ``@`` (BLAS per matrix).

Same functions, shapes and equations as :mod:`mint.kernels.matmul`: input (B, M, K), other
(B, K, P), grad_out (B, M, P).
"""

import numpy as np


def matmul_forward(input, other):
    """out (B, M, P) = input (B, M, K) . other (B, K, P), per matrix of the batch."""
    return input @ other


def matmul_backward_input(grad_out, other):
    """grad_input (B, M, K) = grad_out (B, M, P) . other (B, K, P)^T."""
    return grad_out @ np.swapaxes(other, 1, 2)


def matmul_backward_other(grad_out, input):
    """grad_other (B, K, P) = input (B, M, K)^T . grad_out (B, M, P)."""
    return np.swapaxes(input, 1, 2) @ grad_out
