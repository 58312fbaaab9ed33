"""Fully connected layer with NumPy: one BLAS matmul per direction.

Same functions, shapes and equations as :mod:`mint.kernels.linear`: x (N, C_in),
weight (C_out, C_in), bias (C_out,), grad_out (N, C_out).
"""


def linear_forward(x, weight, bias):
    """out (N, C_out) = x (N, C_in) . weight (C_out, C_in)^T + bias (C_out,)."""
    return x @ weight.T + bias


def linear_backward_input(grad_out, weight):
    """grad_x (N, C_in) = grad_out (N, C_out) . weight (C_out, C_in)."""
    return grad_out @ weight


def linear_backward_weight(grad_out, x):
    """grad_W (C_out, C_in) = grad_out (N, C_out)^T . x (N, C_in)."""
    return grad_out.T @ x


def linear_backward_bias(grad_out):
    """grad_b (C_out,) = grad_out (N, C_out) summed over the batch."""
    return grad_out.sum(axis=0)
