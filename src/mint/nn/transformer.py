"""The transformer's layers with PyTorch's names, arguments, weight layouts and state-dict
keys: ``MultiheadAttention``, ``TransformerEncoderLayer``, ``TransformerEncoder``.

Their forward passes compose :func:`mint.functional.scaled_dot_product_attention` and the
layers of :mod:`mint.nn`; their backward passes run the chain rule through the same
composition in reverse (``docs/backprop.md``, section "Scaled dot-product attention"). Inputs
are (N, L, E) with ``batch_first=True`` (the default here; PyTorch's default is False, (L, N, E)).
"""

import copy
import math

import numpy as np

from mint import _checks as check
from mint import functional as F
from mint.functional.dropout import dropout_probability
from mint.nn.activation import GELU, ReLU
from mint.nn.containers import ModuleList
from mint.nn.dropout import Dropout
from mint.nn.layers import Linear
from mint.nn.module import Module, repr_arguments
from mint.nn.normalization import LayerNorm
from mint.nn.parameter import Parameter
from mint.runtime import default_generator


def _mask_bias(op, mask, dtype, name):
    """A bool (True: masked out) or float (added) mask as a float array to add to the
    scores."""
    if mask is None:
        return None
    if not isinstance(mask, np.ndarray) or mask.dtype.kind not in "bf":
        raise TypeError(f"{op}: {name} must be a bool or float numpy.ndarray, got "
                        f"{getattr(mask, 'dtype', type(mask).__name__)}")
    return np.where(mask, -np.inf, 0.0).astype(dtype) if mask.dtype == bool else \
        mask.astype(dtype)


class MultiheadAttention(Module):
    """Attention of ``num_heads`` heads, each of ``embed_dim / num_heads`` features, as
    ``torch.nn.MultiheadAttention``: ``in_proj_weight`` (3 E, E) and ``in_proj_bias`` (3 E,)
    project queries, keys and values (in that order); ``out_proj`` (a Linear) mixes the heads.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True)`` returns ``(output, weights)``: output (N, L, E), weights (N, L,
    S) averaged over the heads, (N, H, L, S) without averaging, or None when ``need_weights``
    is False. ``key_padding_mask`` (N, S) and ``attn_mask`` (L, S) or (N H, L, S) are bool
    (True: the key is ignored) or float (added to the scores). ``backward(grad_out)`` takes the
    gradient of the output and returns ``(grad_query, grad_key, grad_value)``; for
    self-attention, ``query is key is value``, the input's gradient is their sum.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, batch_first=True, *,
                 dtype=np.float32, strategy=None):
        name = "MultiheadAttention"
        self.embed_dim = check.integer(name, "embed_dim", embed_dim, 1)
        self.num_heads = check.integer(name, "num_heads", num_heads, 1)
        if self.embed_dim % self.num_heads:
            raise ValueError(f"{name}: embed_dim ({embed_dim}) must be divisible by num_heads "
                             f"({num_heads})")
        self.dropout = dropout_probability(name, dropout)
        has_bias = check.boolean(name, "bias", bias)
        self.batch_first = check.boolean(name, "batch_first", batch_first)
        dtype = check.float_dtype(name, dtype)
        self.strategy = check.strategy(name, strategy)
        E = self.embed_dim
        # PyTorch's initialisation: xavier_uniform_ over the (3 E, E) weight, zero biases.
        bound = math.sqrt(6 / (E + 3 * E))
        self.in_proj_weight = Parameter(
            default_generator().uniform(-bound, bound, (3 * E, E)).astype(dtype))
        self.in_proj_bias = Parameter(np.zeros(3 * E, dtype)) if has_bias else None
        self.out_proj = Linear(E, E, bias=has_bias, dtype=dtype, strategy=strategy)
        if has_bias:
            self.out_proj.bias.data[...] = 0

    def _projection(self, part):
        """Weight and bias of the query (0), key (1) or value (2) projection: views."""
        E = self.embed_dim
        weight = self.in_proj_weight.data[part * E:(part + 1) * E]
        if self.in_proj_bias is None:
            return weight, None
        return weight, self.in_proj_bias.data[part * E:(part + 1) * E]

    def _heads(self, x):
        """(N, T, E) -> (N, H, T, E / H)."""
        N, T, _ = x.shape
        return x.reshape(N, T, self.num_heads, -1).transpose(0, 2, 1, 3)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True):
        name = "MultiheadAttention"
        inputs = [check.float_array(name, label, array) for label, array in
                  (("query", query), ("key", key), ("value", value))]
        for label, array in zip(("query", "key", "value"), inputs, strict=True):
            if array.ndim != 3 or array.shape[2] != self.embed_dim:
                layout = "(N, L, E)" if self.batch_first else "(L, N, E)"
                raise ValueError(f"{name}: {label} must be {layout} with E = {self.embed_dim} "
                                 f"(embed_dim), got shape {array.shape}")
        if not self.batch_first:
            inputs = [np.ascontiguousarray(array.transpose(1, 0, 2)) for array in inputs]
        query, key, value = inputs
        N, L, S = query.shape[0], query.shape[1], key.shape[1]
        if key.shape[0] != N or value.shape[:2] != key.shape[:2]:
            raise ValueError(f"{name}: query, key and value must share the batch, and key and "
                             f"value the sequence length, got {query.shape}, {key.shape}, "
                             f"{value.shape}")
        mask = self._mask(key_padding_mask, attn_mask, N, L, S, query.dtype)
        projected = [F.linear(x, *self._projection(part), strategy=self.strategy)
                     for part, x in enumerate((query, key, value))]
        heads = [np.ascontiguousarray(self._heads(x)) for x in projected]
        dropout_p = self.dropout if self.training else 0.0
        out, logsumexp, keep = F.scaled_dot_product_attention(
            *heads, mask, dropout_p, strategy=self.strategy)
        merged = np.ascontiguousarray(out.transpose(0, 2, 1, 3)).reshape(N, L, self.embed_dim)
        output = self.out_proj(merged)
        weights = None
        if need_weights:
            weights = F.attention_weights(heads[0], heads[1], logsumexp, keep, mask, dropout_p,
                                          strategy=self.strategy)
            weights = weights.mean(axis=1) if average_attn_weights else weights
        if not self.batch_first:
            output = np.ascontiguousarray(output.transpose(1, 0, 2))
        self.save_for_backward(output.shape, (query, key, value), heads, logsumexp, keep, mask,
                               dropout_p)
        return output, weights

    def _mask(self, key_padding_mask, attn_mask, N, L, S, dtype):
        """The two masks as one float bias, broadcasting against (N, H, L, S), or None."""
        name = "MultiheadAttention"
        bias = None
        if key_padding_mask is not None:
            if getattr(key_padding_mask, "shape", None) != (N, S):
                raise ValueError(f"{name}: key_padding_mask must have shape (N, S) = "
                                 f"{(N, S)}, got {getattr(key_padding_mask, 'shape', None)}")
            bias = _mask_bias(name, key_padding_mask, dtype,
                              "key_padding_mask")[:, None, None, :]
        if attn_mask is not None:
            shape = getattr(attn_mask, "shape", None)
            if shape not in ((L, S), (N * self.num_heads, L, S)):
                raise ValueError(f"{name}: attn_mask must have shape (L, S) = {(L, S)} or "
                                 f"(N * num_heads, L, S) = {(N * self.num_heads, L, S)}, got "
                                 f"{shape}")
            added = _mask_bias(name, attn_mask, dtype, "attn_mask")
            added = added.reshape(N, self.num_heads, L, S) if added.ndim == 3 else added
            bias = added if bias is None else bias + added
        return bias

    def backward(self, grad_out):
        inputs, heads, logsumexp, keep, mask, dropout_p = self.saved_for_backward(grad_out)
        if not self.batch_first:
            grad_out = np.ascontiguousarray(grad_out.transpose(1, 0, 2))
        N, L = grad_out.shape[:2]
        grad_merged = self.out_proj.backward(grad_out)
        grad_heads = F.scaled_dot_product_attention_backward(
            np.ascontiguousarray(self._heads(grad_merged)), *heads, logsumexp, keep, mask,
            dropout_p, strategy=self.strategy)
        E = self.embed_dim
        grads = []
        for part, (x, grad_head) in enumerate(zip(inputs, grad_heads, strict=True)):
            grad_projected = grad_head.transpose(0, 2, 1, 3).reshape(x.shape[0], x.shape[1], E)
            grad_x, grad_weight, grad_bias = F.linear_backward(
                grad_projected, x, self._projection(part)[0], strategy=self.strategy)
            self.in_proj_weight.grad[part * E:(part + 1) * E] += grad_weight
            if self.in_proj_bias is not None:
                self.in_proj_bias.grad[part * E:(part + 1) * E] += grad_bias
            grads.append(grad_x if self.batch_first
                         else np.ascontiguousarray(grad_x.transpose(1, 0, 2)))
        return tuple(grads)

    def extra_repr(self):
        return repr_arguments(f"embed_dim={self.embed_dim}", f"num_heads={self.num_heads}",
                              f"dropout={self.dropout}" if self.dropout else "",
                              "bias=False" if self.in_proj_bias is None else "",
                              f"batch_first={self.batch_first}", strategy=self.strategy)


ACTIVATIONS = {"relu": ReLU, "gelu": GELU}


class TransformerEncoderLayer(Module):
    """Self-attention then a feed-forward block, each with a residual connection and layer
    normalisation, as ``torch.nn.TransformerEncoderLayer``: after each block
    (``norm_first=False``, post-norm) or on each block's input (``norm_first=True``, pre-norm,
    as in ViT). Same sub-modules and state-dict keys: ``self_attn``, ``linear1``, ``linear2``,
    ``norm1``, ``norm2`` (and the parameter-free ``dropout``, ``dropout1``, ``dropout2``,
    ``activation``). Input (N, L, d_model) with ``batch_first=True``.

    ``forward(src, src_mask=None, src_key_padding_mask=None)``; ``backward(grad_out)`` returns
    the gradient of ``src``.
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=True, norm_first=False, bias=True, *,
                 dtype=np.float32, strategy=None):
        name = "TransformerEncoderLayer"
        d_model = check.integer(name, "d_model", d_model, 1)
        dim_feedforward = check.integer(name, "dim_feedforward", dim_feedforward, 1)
        activation = check.choice(name, "activation", activation, tuple(ACTIVATIONS))
        self.norm_first = check.boolean(name, "norm_first", norm_first)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout, bias, batch_first,
                                            dtype=dtype, strategy=strategy)
        self.linear1 = Linear(d_model, dim_feedforward, bias, dtype=dtype, strategy=strategy)
        self.dropout = Dropout(dropout, strategy=strategy)
        self.linear2 = Linear(dim_feedforward, d_model, bias, dtype=dtype, strategy=strategy)
        self.norm1 = LayerNorm(d_model, layer_norm_eps, bias=bias, dtype=dtype,
                               strategy=strategy)
        self.norm2 = LayerNorm(d_model, layer_norm_eps, bias=bias, dtype=dtype,
                               strategy=strategy)
        self.dropout1 = Dropout(dropout, strategy=strategy)
        self.dropout2 = Dropout(dropout, strategy=strategy)
        self.activation = ACTIVATIONS[activation](strategy=strategy)
        self.batch_first = self.self_attn.batch_first

    @staticmethod
    def _drop(dropout, x):
        """``dropout(x)``; p = 0 is the identity in both directions, and draws no mask."""
        return x if dropout.p == 0 else dropout(x)

    @staticmethod
    def _drop_backward(dropout, grad):
        return grad if dropout.p == 0 else dropout.backward(grad)

    def _attention_block(self, x, src_mask, src_key_padding_mask):
        out, _ = self.self_attn(x, x, x, src_key_padding_mask, False, src_mask)
        return self._drop(self.dropout1, out)

    def _attention_backward(self, grad):
        return sum(self.self_attn.backward(self._drop_backward(self.dropout1, grad)))

    def _feedforward_block(self, x):
        hidden = self._drop(self.dropout, self.activation(self.linear1(x)))
        return self._drop(self.dropout2, self.linear2(hidden))

    def _feedforward_backward(self, grad):
        grad = self.linear2.backward(self._drop_backward(self.dropout2, grad))
        grad = self.activation.backward(self._drop_backward(self.dropout, grad))
        return self.linear1.backward(grad)

    def forward(self, src, src_mask=None, src_key_padding_mask=None):
        x = src
        if self.norm_first:
            x = x + self._attention_block(self.norm1(x), src_mask, src_key_padding_mask)
            x = x + self._feedforward_block(self.norm2(x))
        else:
            x = self.norm1(x + self._attention_block(x, src_mask, src_key_padding_mask))
            x = self.norm2(x + self._feedforward_block(x))
        self.save_for_backward(x.shape)
        return x

    def backward(self, grad_out):
        self.saved_for_backward(grad_out)
        if self.norm_first:
            grad = grad_out + self.norm2.backward(self._feedforward_backward(grad_out))
            return grad + self.norm1.backward(self._attention_backward(grad))
        grad = self.norm2.backward(grad_out)
        grad = self.norm1.backward(grad + self._feedforward_backward(grad))
        return grad + self._attention_backward(grad)

    def extra_repr(self):
        return f"norm_first={self.norm_first}"


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` (each with its own parameters, copied from
    it, as PyTorch's deep copy) run in order, then ``norm`` if given, as
    ``torch.nn.TransformerEncoder``; keys ``layers.0.self_attn.in_proj_weight``, ...,
    ``norm.weight``. ``forward(src, mask=None, src_key_padding_mask=None)``."""

    def __init__(self, encoder_layer, num_layers, norm=None):
        name = "TransformerEncoder"
        if not isinstance(encoder_layer, TransformerEncoderLayer):
            raise TypeError(f"{name}: encoder_layer must be a TransformerEncoderLayer, got "
                            f"{type(encoder_layer).__name__}")
        num_layers = check.integer(name, "num_layers", num_layers, 1)
        if norm is not None and not isinstance(norm, Module):
            raise TypeError(f"{name}: norm must be a Module or None, got {type(norm).__name__}")
        self.layers = ModuleList(copy.deepcopy(encoder_layer) for _ in range(num_layers))
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src, mask=None, src_key_padding_mask=None):
        x = src
        for layer in self.layers:
            x = layer(x, mask, src_key_padding_mask)
        if self.norm is not None:
            x = self.norm(x)
        self.save_for_backward(np.shape(x))
        return x

    def backward(self, grad_out):
        self.saved_for_backward(grad_out)
        grad = grad_out if self.norm is None else self.norm.backward(grad_out)
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad
