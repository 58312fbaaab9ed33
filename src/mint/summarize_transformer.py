"""The costs of the transformer's layers, for :mod:`mint.summarize` (which adds
:data:`COSTS` to its table). With N samples of L tokens of E features, H heads and a
feed-forward block of F units:

- ``LayerNorm``: one multiply-add per output value (its scale and shift, as batch
  normalisation); keeps its input and each row's mean and inverse deviation;
- ``TransformerEncoderLayer``, one row: the four projections ``N L E (E + 1)`` each (the
  ``+ 1`` with biases), the scores and the weighted sum of the values ``N H L L (E / H)`` each,
  the feed-forward block ``N L F (E + 1) + N L E (F + 1)``, and its two norms ``N L E`` each;
  keeps the input, the heads' queries, keys and values and each query row's logsumexp, the
  attention's merged output, the feed-forward block's input and hidden values (twice: before
  and after the activation), the second norm's input and both norms' statistics;
- ``TransformerEncoder``: its layers, then its norm; ``VisionTransformer``: ``conv_proj``, a
  row for the class token and position embedding, the encoder on the tokens, ``head`` on the
  class token's output.
"""

import functools
import math

import numpy as np

from mint import models, nn
from mint.registry import child_name


def _layer_norm_bytes(x, out):
    """The mean and inverse deviation of each row."""
    return 2 * math.prod(x.shape[:x.ndim - 1]) * x.itemsize


def _encoder_layer_multiply_adds(layer, input_shape, output_shape):
    attention = layer.self_attn
    E = attention.embed_dim
    F = layer.linear1.out_features
    tokens = math.prod(input_shape[:-1])
    L = input_shape[-2] if len(input_shape) > 1 else 1
    bias = attention.in_proj_bias is not None
    projections = 4 * tokens * E * (E + bias)
    scores_and_sum = 2 * tokens * L * E
    feedforward = tokens * (F * (E + bias) + E * (F + bias))
    return projections + scores_and_sum + feedforward + 2 * tokens * E


class _EncoderLayerBytes:
    """Bytes one encoder layer keeps for backward beyond its input: q, k, v and the merged
    heads (4 N L E values), the logsumexp (N H L), the feed-forward input and its hidden values
    before and after the activation (N L E + 2 N L F), the second norm's input (N L E) and the
    two norms' statistics (4 N L)."""

    def __init__(self, layer):
        self.heads = layer.self_attn.num_heads
        self.hidden = layer.linear1.out_features

    def __call__(self, x, out):
        tokens, E = math.prod(x.shape[:-1]), x.shape[-1]
        rows = math.prod(x.shape[:-2]) if x.ndim > 2 else 1
        values = tokens * (6 * E + 2 * self.hidden + 4) + rows * self.heads * x.shape[-2]
        return values * x.itemsize


def _walk_encoder(walk, encoder, name, x, x_id):
    for index, layer in encoder.layers.named_children():
        x, x_id = walk.visit(layer, child_name(name, f"layers.{index}"), x, x_id)
    if encoder.norm is not None:
        x, x_id = walk.visit(encoder.norm, child_name(name, "norm"), x, x_id)
    return x, x_id


def _walk_vision_transformer(walk, model, name, x, x_id, row_class):
    """The patch embedding; the token sequence (a new array), a row of its own holding the
    class token and the position embedding; the encoder; the head on the class token's output
    (a new array too: a copy of a strided view)."""
    patches, _ = walk.visit(model.conv_proj, child_name(name, "conv_proj"), x, x_id)
    N, dim = patches.shape[:2]
    class_tokens = np.broadcast_to(model.class_token.data, (N, 1, dim))
    tokens = np.concatenate([class_tokens, patches.reshape(N, dim, -1).transpose(0, 2, 1)],
                            axis=1) + model.pos_embedding.data
    walk.rows.append(row_class(
        name=child_name(name, "class_token+pos_embedding"), kind="tokens",
        output_shape=tokens.shape, multiply_adds=0, kept_bytes=0,
        parameters=model.class_token.data.size + model.pos_embedding.data.size))
    walk.arrays += 1
    encoded, _ = walk.visit(model.encoder, child_name(name, "encoder"), tokens, walk.arrays)
    walk.arrays += 1
    return walk.visit(model.head, child_name(name, "head"), encoded[:, 0], walk.arrays)


def costs(cost_class, row_class, one_per_output_value):
    """``{layer class: entry}`` for :mod:`mint.summarize`'s table, given its ``Cost`` and row
    classes and its count of one multiply-add per output value."""

    def encoder_layer(walk, layer, name, x, x_id):
        """One row for the whole layer (its sub-layers are not listed)."""
        cost = cost_class(_encoder_layer_multiply_adds, keeps=("input", _EncoderLayerBytes(layer)))
        return walk.visit(layer, name, x, x_id, entry=cost)

    return {
        nn.LayerNorm: cost_class(one_per_output_value, keeps=("input", _layer_norm_bytes)),
        nn.TransformerEncoderLayer: encoder_layer,
        nn.TransformerEncoder: _walk_encoder,
        models.VisionTransformer: functools.partial(_walk_vision_transformer,
                                                    row_class=row_class),
    }
