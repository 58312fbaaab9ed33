"""The update rules of SGD and Adam (AdamW) with NumPy's in-place operations.

Same functions, signatures and equations as :mod:`mint.kernels.optimizers`, one NumPy operation
(one pass over memory) per step of the rule; arrays of any one shape, updated in place.
"""

import numpy as np


def sgd_update(data, grad, buffer, lr, momentum, dampening, weight_decay, nesterov, first_step):
    """SGD with momentum (O1); with ``momentum`` 0, ``buffer`` is not used."""
    if weight_decay != 0:
        grad = grad + weight_decay * data
    if momentum != 0:
        if first_step:
            buffer[...] = grad
        else:
            buffer *= momentum
            buffer += (1 - dampening) * grad
        grad = grad + momentum * buffer if nesterov else buffer
    data -= lr * grad


def adam_update(data, grad, exp_avg, exp_avg_sq, step_size, correction2, beta1, beta2, eps,
                weight_decay, decay_factor):
    """Adam (O2), AdamW's decoupled decay as ``decay_factor``."""
    if decay_factor != 1:
        data *= decay_factor
    if weight_decay != 0:
        grad = grad + weight_decay * data
    # torch's lerp form of beta1 * m + (1 - beta1) * g, kept for bit-level agreement.
    exp_avg += (1 - beta1) * (grad - exp_avg)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad
    data -= step_size * (exp_avg / (np.sqrt(exp_avg_sq) / correction2 + eps))
