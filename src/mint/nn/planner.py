"""The planner that :class:`~mint.nn.Sequential` asks in which order to run its modules: a rule
that concerns particular layers lives here, above them, so that neither ``Module`` nor the
containers know any layer by name."""

from mint.nn.activation import ReLU
from mint.nn.layers import MaxPool2d


def execution_order(modules):
    """``modules`` in the order forward runs them: the listed order, except that a ``ReLU``
    directly followed by a ``MaxPool2d`` runs after it.

    The swap is exact: ReLU is non-decreasing, so ``max(relu(window)) = relu(max(window))``
    value for value, the pool's argmax gets a non-zero gradient from ReLU exactly when the
    window's maximum is positive, and that maximum sits at the same (first) position in both
    orders; NaN wins the window and passes ReLU either way. ReLU then runs on the pooled map, a
    quarter of the values for a 2 x 2 pool, forward and backward. The exact classes only: a
    subclass may compute something else.
    """
    order = list(modules)
    for index in range(len(order) - 1):
        if type(order[index]) is ReLU and type(order[index + 1]) is MaxPool2d:
            order[index], order[index + 1] = order[index + 1], order[index]
    return order
