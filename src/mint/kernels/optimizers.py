"""The update rules of SGD and Adam (AdamW) as one pass over each parameter.

Every function updates flat, C-contiguous arrays of one float dtype in place: the parameter
``data``, its ``grad`` and the optimizer's buffers for it. The scalars arrive as Python floats
and are rounded to the arrays' dtype first, and each value goes through the same operations, in
the same order, as PyTorch's rule in :mod:`mint.optim` (and as the NumPy twin in
:mod:`mint.vectorized.optimizers`), so both strategies give the same bits. NumPy's version
makes one pass over memory per operation, with temporaries; here each value is read and written
once (the update of lenet's 421,642 parameters is memory traffic, not arithmetic).
"""

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def sgd_update(data, grad, buffer, lr, momentum, dampening, weight_decay, nesterov, first_step):
    """SGD with momentum, element by element (equation (O1) of docs/backprop.md)::

        g = grad + weight_decay * data
        buffer = g on the first step, else momentum * buffer + (1 - dampening) * g
        g = g + momentum * buffer (Nesterov), else buffer
        data -= lr * g

    With ``momentum`` 0, ``buffer`` is not used (pass ``data``)."""
    t = data.dtype.type
    lr, momentum, weight_decay = t(lr), t(momentum), t(weight_decay)
    keep = t(1 - dampening)
    # Iteration i reads and writes element i only.
    for i in prange(data.size):
        g = grad[i]
        if weight_decay != 0:
            g = g + weight_decay * data[i]
        if momentum != 0:
            b = g if first_step else buffer[i] * momentum + keep * g
            buffer[i] = b
            g = g + momentum * b if nesterov else b
        data[i] = data[i] - lr * g


@njit(parallel=True, cache=True)
def adam_update(data, grad, exp_avg, exp_avg_sq, step_size, correction2, beta1, beta2, eps,
                weight_decay, decay_factor):
    """Adam, element by element (equation (O2) of docs/backprop.md), with ``step_size =
    lr / (1 - beta1**t)`` and ``correction2 = sqrt(1 - beta2**t)`` at step ``t`` (computed once,
    by the caller)::

        data *= decay_factor (AdamW's decoupled decay 1 - lr * weight_decay; Adam: 1)
        g = grad + weight_decay * data (Adam's L2 decay; AdamW passes weight_decay 0)
        exp_avg += (1 - beta1) * (g - exp_avg)
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g * g
        data -= step_size * exp_avg / (sqrt(exp_avg_sq) / correction2 + eps)
    """
    t = data.dtype.type
    step_size, correction2 = t(step_size), t(correction2)
    rest1, beta2, rest2 = t(1 - beta1), t(beta2), t(1 - beta2)
    eps, weight_decay, decay_factor = t(eps), t(weight_decay), t(decay_factor)
    # Iteration i reads and writes element i only.
    for i in prange(data.size):
        p = data[i]
        if decay_factor != 1:
            p = p * decay_factor
        g = grad[i]
        if weight_decay != 0:
            g = g + weight_decay * p
        m = exp_avg[i] + rest1 * (g - exp_avg[i])
        v = exp_avg_sq[i] * beta2 + rest2 * g * g
        exp_avg[i], exp_avg_sq[i] = m, v
        data[i] = p - step_size * (m / (np.sqrt(v) / correction2 + eps))
