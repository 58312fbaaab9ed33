"""The transformer's layers between Mint and PyTorch, for :mod:`mint.interop` (which adds
:data:`TO_TORCH` and :func:`from_torch_entries` to its tables): ``LayerNorm``,
``Embedding``, ``MultiheadAttention``, ``TransformerEncoderLayer`` and
``TransformerEncoder``, same arguments, weights and state-dict keys. PyTorch modules are built
without their initialisation (``skip_init``) and Mint's are loaded over their draws, as the
other layers of :mod:`mint.interop` are."""

import numpy as np

from mint import nn


def _dtype(torch, layer):
    return getattr(torch, str(next(layer.parameters()).data.dtype))


def _loaded(torch, module, layer):
    module.load_state_dict({key: torch.from_numpy(value)
                            for key, value in layer.state_dict().items()})
    return module


def _built(torch, module_class, layer, *args, **kwargs):
    module = torch.nn.utils.skip_init(module_class, *args, **kwargs, dtype=_dtype(torch, layer))
    return _loaded(torch, module, layer)


def _layer_norm_to_torch(torch, layer, name):
    if layer.weight is None:
        return torch.nn.LayerNorm(layer.normalized_shape, layer.eps, elementwise_affine=False)
    return _built(torch, torch.nn.LayerNorm, layer, layer.normalized_shape, layer.eps,
                  bias=layer.bias is not None)


def _embedding_to_torch(torch, layer, name):
    return _built(torch, torch.nn.Embedding, layer, layer.num_embeddings, layer.embedding_dim,
                  layer.padding_idx)


def _attention_to_torch(torch, layer, name):
    return _built(torch, torch.nn.MultiheadAttention, layer, layer.embed_dim, layer.num_heads,
                  layer.dropout, bias=layer.in_proj_bias is not None,
                  batch_first=layer.batch_first)


def _encoder_layer_arguments(layer):
    """The arguments of ``torch.nn.TransformerEncoderLayer`` (and Mint's) that ``layer`` has."""
    attention = layer.self_attn
    return dict(d_model=attention.embed_dim, nhead=attention.num_heads,
                dim_feedforward=layer.linear1.out_features, dropout=layer.dropout.p,
                activation=type(layer.activation).__name__.lower(),
                layer_norm_eps=layer.norm1.eps, batch_first=attention.batch_first,
                norm_first=layer.norm_first, bias=layer.linear1.bias is not None)


def _encoder_layer_to_torch(torch, layer, name):
    return _built(torch, torch.nn.TransformerEncoderLayer, layer,
                  **_encoder_layer_arguments(layer))


def _encoder_to_torch(torch, encoder, name):
    first = _encoder_layer_to_torch(torch, encoder.layers[0], name)
    norm = None if encoder.norm is None else _layer_norm_to_torch(torch, encoder.norm, name)
    module = torch.nn.TransformerEncoder(first, encoder.num_layers, norm,
                                         enable_nested_tensor=False)
    return _loaded(torch, module, encoder)


TO_TORCH = {nn.LayerNorm: _layer_norm_to_torch, nn.Embedding: _embedding_to_torch,
            nn.MultiheadAttention: _attention_to_torch,
            nn.TransformerEncoderLayer: _encoder_layer_to_torch,
            nn.TransformerEncoder: _encoder_to_torch}

# ------------------------------------------------------------------------------ from torch


def _with_state(layer, module):
    """``layer`` holding ``module``'s weights, in their dtype (float32 or float64)."""
    state = {key: value.detach().cpu().numpy() for key, value in module.state_dict().items()}
    dtype = next((value.dtype for value in state.values() if value.dtype.kind == "f"),
                 np.dtype(np.float32))
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"from_torch: {type(module).__name__} has dtype {dtype}; Mint computes "
                        "in float32 or float64")
    layer.to(dtype).load_state_dict(state)
    return layer


def _layer_norm_from_torch(module, name):
    return _with_state(nn.LayerNorm(module.normalized_shape, module.eps,
                                    module.elementwise_affine,
                                    bias=getattr(module, "bias", None) is not None), module)


def _embedding_from_torch(module, name):
    if module.max_norm is not None or module.scale_grad_by_freq or module.sparse:
        raise ValueError(f"from_torch: Embedding {name!r} has max_norm, scale_grad_by_freq or "
                         "sparse, which Mint's Embedding does not support")
    return _with_state(nn.Embedding(module.num_embeddings, module.embedding_dim,
                                    module.padding_idx), module)


def _check_packed(module, name):
    if not module._qkv_same_embed_dim or module.bias_k is not None or module.add_zero_attn:
        raise ValueError(f"from_torch: MultiheadAttention {name!r} has kdim/vdim, add_bias_kv "
                         "or add_zero_attn, which Mint's MultiheadAttention does not support")


def _attention_from_torch(module, name):
    _check_packed(module, name)
    return _with_state(nn.MultiheadAttention(module.embed_dim, module.num_heads, module.dropout,
                                             module.in_proj_bias is not None,
                                             module.batch_first), module)


def _encoder_layer_from_torch(module, name):
    _check_packed(module.self_attn, f"{name}.self_attn")
    activations = {1: "relu", 2: "gelu"}
    if module.activation_relu_or_gelu not in activations:
        raise ValueError(f"from_torch: TransformerEncoderLayer {name!r} has an activation "
                         "other than relu or gelu, which Mint does not support")
    layer = nn.TransformerEncoderLayer(
        module.self_attn.embed_dim, module.self_attn.num_heads, module.linear1.out_features,
        module.dropout.p, activations[module.activation_relu_or_gelu], module.norm1.eps,
        module.self_attn.batch_first, module.norm_first, module.linear1.bias is not None)
    return _with_state(layer, module)


def _encoder_from_torch(module, name):
    layer = _encoder_layer_from_torch(module.layers[0], f"{name}.layers.0")
    norm = None if module.norm is None else _layer_norm_from_torch(module.norm, f"{name}.norm")
    return _with_state(nn.TransformerEncoder(layer, len(module.layers), norm), module)


def from_torch_entries(torch):
    """``{torch.nn class: converter(module, name) -> Mint layer}``."""
    return {torch.nn.LayerNorm: _layer_norm_from_torch,
            torch.nn.Embedding: _embedding_from_torch,
            torch.nn.MultiheadAttention: _attention_from_torch,
            torch.nn.TransformerEncoderLayer: _encoder_layer_from_torch,
            torch.nn.TransformerEncoder: _encoder_from_torch}
