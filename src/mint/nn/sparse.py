"""``Embedding``: a table of learned vectors looked up by integer indices, as
``torch.nn.Embedding`` (PyTorch's ``nn/modules/sparse.py``)."""

import numpy as np

from mint import _checks as check
from mint import functional as F
from mint.functional.embedding import padding_index
from mint.nn.module import Module, repr_arguments
from mint.nn.parameter import Parameter
from mint.runtime import default_generator


class Embedding(Module):
    """``weight`` (num_embeddings, embedding_dim), drawn from N(0, 1) as PyTorch's, with the
    ``padding_idx`` row zeroed; integer indices (*) -> (*, embedding_dim). The padding row gets
    no gradient. ``backward`` adds into ``weight.grad`` and returns None: indices have no
    gradient."""

    independent_samples = True

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, *, dtype=np.float32,
                 strategy=None):
        name = "Embedding"
        self.num_embeddings = check.integer(name, "num_embeddings", num_embeddings, 1)
        self.embedding_dim = check.integer(name, "embedding_dim", embedding_dim, 1)
        row = padding_index(name, padding_idx, self.num_embeddings)
        self.padding_idx = None if row < 0 else row
        dtype = check.float_dtype(name, dtype)
        self.strategy = check.strategy(name, strategy)
        weight = default_generator().standard_normal((self.num_embeddings, self.embedding_dim))
        if self.padding_idx is not None:
            weight[self.padding_idx] = 0
        self.weight = Parameter(weight.astype(dtype))

    def forward(self, input):
        out = F.embedding(input, self.weight.data, self.padding_idx, strategy=self.strategy)
        self.save_for_backward(out.shape, input)
        return out

    def backward(self, grad_out):
        (input,) = self.saved_for_backward(grad_out)
        self.weight.grad += F.embedding_backward(grad_out, input, self.weight.data,
                                                 self.padding_idx, strategy=self.strategy)

    def backward_parameters(self, grad_out):
        self.backward(grad_out)

    def extra_repr(self):
        return repr_arguments(f"{self.num_embeddings}, {self.embedding_dim}",
                              "" if self.padding_idx is None
                              else f"padding_idx={self.padding_idx}", strategy=self.strategy)
