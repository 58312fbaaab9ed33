"""ONNX converters of the transformer's layers, for :mod:`mint.onnx` (which registers
:data:`CONVERTERS`): its table of layers and operators, continued.

=============================  =======================================================
Mint layer                     ONNX operators
=============================  =======================================================
``LayerNorm``                  ``LayerNormalization(axis, epsilon)`` from opset 17; below,
                               ``ReduceMean``, ``Sub``, ``Mul``, ``Sqrt``, ``Div``
``TransformerEncoderLayer``    self-attention as ``MatMul`` + ``Add`` per projection,
                               ``Reshape`` and ``Transpose`` into heads, ``MatMul``,
                               ``Softmax(axis=-1)``, ``MatMul``, back to (N, L, E) and
                               ``out_proj``; then the feed-forward block, the norms and the
                               residual ``Add``s in the layer's order (no masks: the
                               exported layer attends to every token)
``TransformerEncoder``         its layers, then its norm
``VisionTransformer``          ``conv_proj``, ``Reshape``, ``Transpose``, the class token
                               ``Expand``ed to the batch and ``Concat``ed, ``Add`` of the
                               position embedding, the encoder, ``Gather`` of token 0, ``head``
=============================  =======================================================

Dropout is the identity in eval mode and exports to nothing.
"""

import numpy as np

from mint import models, nn
from mint.registry import child_name


def _int64(graph, name, key, values):
    return graph.constant(child_name(name, key), np.array(values, np.int64))


def _float(graph, name, key, value):
    return graph.constant(child_name(name, key), np.array(value, graph.dtype))


def _layer_norm(graph, layer, name, x_name, x):
    axes = list(range(-len(layer.normalized_shape), 0))
    weight = (graph.parameter(name, "weight", layer.weight) if layer.weight is not None
              else graph.constant(child_name(name, "weight"),
                                  np.ones(layer.normalized_shape, graph.dtype)))
    bias = (graph.parameter(name, "bias", layer.bias) if layer.bias is not None
            else graph.constant(child_name(name, "bias"),
                                np.zeros(layer.normalized_shape, graph.dtype)))
    if graph.opset >= 17:
        return graph.node("LayerNormalization", [x_name, weight, bias], name, axis=axes[0],
                          epsilon=layer.eps)
    mean = graph.node("ReduceMean", [x_name], name, axes=axes)
    centred = graph.node("Sub", [x_name, mean], name)
    var = graph.node("ReduceMean", [graph.node("Mul", [centred, centred], name)], name,
                     axes=axes)
    spread = graph.node("Sqrt", [graph.node("Add", [var, _float(graph, name, "eps", layer.eps)],
                                            name)], name)
    normalised = graph.node("Div", [centred, spread], name)
    return graph.node("Add", [graph.node("Mul", [normalised, weight], name), bias], name)


def _projection(graph, attention, name, x_name, part, key):
    """x (N, T, E) times the ``part`` block of in_proj_weight, plus its bias."""
    weight, bias = attention._projection(part)
    out = graph.node("MatMul", [x_name, graph.constant(child_name(name, f"in_proj_{key}"),
                                                       weight.T.astype(graph.dtype))], name)
    if bias is None:
        return out
    return graph.node("Add", [out, graph.constant(child_name(name, f"in_proj_bias_{key}"),
                                                  bias.astype(graph.dtype))], name)


def _self_attention(graph, attention, name, x_name):
    """The nodes of ``attention(x, x, x)``'s output, batch first."""
    E, H = attention.embed_dim, attention.num_heads
    heads_shape = _int64(graph, name, "heads_shape", [0, 0, H, E // H])
    q, k, v = (graph.node("Reshape", [_projection(graph, attention, name, x_name, part, key),
                                      heads_shape], name)
               for part, key in enumerate("qkv"))
    q = graph.node("Transpose", [q], name, perm=[0, 2, 1, 3])
    v = graph.node("Transpose", [v], name, perm=[0, 2, 1, 3])
    k = graph.node("Transpose", [k], name, perm=[0, 2, 3, 1])
    scores = graph.node("Mul", [graph.node("MatMul", [q, k], name),
                                _float(graph, name, "scale", 1 / np.sqrt(E // H))], name)
    out = graph.node("MatMul", [graph.node("Softmax", [scores], name, axis=-1), v], name)
    merged = graph.node("Reshape", [graph.node("Transpose", [out], name, perm=[0, 2, 1, 3]),
                                    _int64(graph, name, "merged_shape", [0, 0, E])], name)
    out_proj = child_name(name, "out_proj")
    return graph.convert(attention.out_proj, out_proj, merged, np.zeros((1, 1, E), graph.dtype))


def _encoder_layer(graph, layer, name, x_name, x):
    def sub(key, value_name, value):
        return graph.convert(getattr(layer, key), child_name(name, key), value_name, value)

    def attention(value_name):
        return _self_attention(graph, layer.self_attn, child_name(name, "self_attn"),
                               value_name)

    hidden = np.zeros((*x.shape[:-1], layer.linear1.out_features), x.dtype)

    def feedforward(value_name):
        inner = sub("activation", sub("linear1", value_name, x), hidden)
        return sub("linear2", inner, hidden)

    if layer.norm_first:
        x_name = graph.node("Add", [x_name, attention(sub("norm1", x_name, x))], name)
        return graph.node("Add", [x_name, feedforward(sub("norm2", x_name, x))], name)
    x_name = sub("norm1", graph.node("Add", [x_name, attention(x_name)], name), x)
    return sub("norm2", graph.node("Add", [x_name, feedforward(x_name)], name), x)


def _encoder(graph, encoder, name, x_name, x):
    for index, layer in encoder.layers.named_children():
        x_name = graph.convert(layer, child_name(name, f"layers.{index}"), x_name, x)
    if encoder.norm is not None:
        x_name = graph.convert(encoder.norm, child_name(name, "norm"), x_name, x)
    return x_name


def _vision_transformer(graph, model, name, x_name, x):
    patches = model.conv_proj(x)
    dim = patches.shape[1]
    tokens = graph.convert(model.conv_proj, child_name(name, "conv_proj"), x_name, x)
    tokens = graph.node("Reshape", [tokens, _int64(graph, name, "tokens_shape", [0, dim, -1])],
                        name)
    tokens = graph.node("Transpose", [tokens], name, perm=[0, 2, 1])
    batch = graph.node("Gather", [graph.node("Shape", [x_name], name),
                                  _int64(graph, name, "batch_axis", [0])], name, axis=0)
    class_shape = graph.node("Concat", [batch, _int64(graph, name, "class_shape", [1, dim])],
                             name, axis=0)
    class_tokens = graph.node("Expand", [graph.parameter(name, "class_token",
                                                         model.class_token), class_shape], name)
    tokens = graph.node("Concat", [class_tokens, tokens], name, axis=1)
    tokens = graph.node("Add", [tokens, graph.parameter(name, "pos_embedding",
                                                        model.pos_embedding)], name)
    sequence = np.zeros((len(x), model.pos_embedding.shape[1], dim), x.dtype)
    encoded = graph.convert(model.encoder, child_name(name, "encoder"), tokens, sequence)
    first = graph.node("Gather", [encoded, _int64(graph, name, "class_index", 0)], name, axis=1)
    return graph.convert(model.head, child_name(name, "head"), first, sequence[:, 0])


CONVERTERS = {nn.LayerNorm: _layer_norm, nn.TransformerEncoderLayer: _encoder_layer,
              nn.TransformerEncoder: _encoder, models.VisionTransformer: _vision_transformer}
