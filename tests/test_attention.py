"""matmul and scaled_dot_product_attention, forward and backward, against torch, finite
differences and the other strategy (op_check): broadcast batch dimensions, bool and float
masks, the causal rule, a custom scale and dropout; bad input refused before any kernel runs."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mint
from helpers import DTYPES, STRATEGY_NAMES, random_array, torch
from mint import functional as F
from op_check import Op, check_op

seeds = st.integers(0, 2**32 - 1)

MATMUL = Op(F.matmul, F.matmul_backward, lambda a, b: torch.matmul(a, b), grads=(0, 1),
            backward_params=False)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)),
                                    ((2, 1, 3, 4), (3, 4, 2)), ((1, 3, 4), (2, 2, 4, 1)),
                                    ((5, 17, 16), (5, 16, 17))])
def test_matmul_matches_references_with_broadcast_batches(strategy, dtype, shapes):
    rng = np.random.default_rng(len(shapes[0]) + len(shapes[1]))
    check_op(MATMUL, tuple(random_array(rng, shape) for shape in shapes),
             strategies=[strategy], dtypes=[dtype], fd_elements=16)


def _seeded_attention(seed):
    """(forward, backward) of scaled_dot_product_attention for check_op: every forward call
    draws the same dropout mask (seeded), which the backward takes from the last call."""
    last = {}

    def forward(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                strategy=None):
        mint.manual_seed(seed)
        out, logsumexp, last["keep"] = F.scaled_dot_product_attention(
            query, key, value, attn_mask, dropout_p, is_causal, scale, strategy=strategy)
        return out, logsumexp

    def backward(grad_out, query, key, value, logsumexp, attn_mask=None, dropout_p=0.0,
                 is_causal=False, scale=None, strategy=None):
        return F.scaled_dot_product_attention_backward(
            grad_out, query, key, value, logsumexp, last["keep"], attn_mask, dropout_p,
            is_causal, scale, strategy=strategy)

    def reference(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False,
                  scale=None):
        """PyTorch's function, or its math with the same mask when there is dropout."""
        scale_ = 1 / np.sqrt(query.shape[-1]) if scale is None else scale
        scores = query @ key.transpose(-1, -2) * scale_
        if is_causal:
            scores = scores.masked_fill(~torch.ones(scores.shape[-2:], dtype=torch.bool).tril(),
                                        -torch.inf)
        elif attn_mask is not None:
            mask = torch.tensor(attn_mask)
            scores = (scores.masked_fill(~mask, -torch.inf) if mask.dtype == torch.bool
                      else scores + mask.to(scores.dtype))
        logsumexp = torch.logsumexp(scores.detach(), -1)
        if dropout_p == 0:
            mask = None if attn_mask is None else torch.tensor(attn_mask)
            if mask is not None and mask.dtype != torch.bool:
                mask = mask.to(query.dtype)
            out = torch.nn.functional.scaled_dot_product_attention(
                query, key, value, mask, 0.0, is_causal, scale=scale)
            return out, logsumexp
        keep = torch.tensor(last["keep"]).to(query.dtype) / (1 - dropout_p)
        return (torch.softmax(scores, -1) * keep) @ value, logsumexp

    return Op(forward, backward, reference,
              backward_args=lambda inputs, outputs: (*inputs, outputs[1]), grads=(0, 1, 2))


@st.composite
def _attention_cases(draw):
    """Shapes (*, L, E), (*, S, E), (*, S, E_v) and the masking and scaling options."""
    batch = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    L, S = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    E, E_v = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    mask = draw(st.sampled_from(["none", "bool", "float", "causal", "key-padding"]))
    return batch, L, S, E, E_v, mask, draw(st.sampled_from([None, 0.3]))


def _mask(rng, kind, batch, L, S):
    """A mask that leaves every query at least one key."""
    if kind == "bool":
        mask = rng.random((*batch, L, S)) < 0.6
        mask[..., 0] = True
        return mask
    if kind == "float":
        return random_array(rng, (L, S))
    if kind == "key-padding":  # (N, 1, 1, S) broadcast over heads and queries, as MHA's
        mask = rng.random((*batch[:1], *(1,) * max(len(batch) - 1, 0), 1, S)) < 0.7
        mask[..., 0] = True
        return mask
    return None


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@given(seed=seeds, case=_attention_cases(), dropout_p=st.sampled_from([0.0, 0.0, 0.4]))
def test_scaled_dot_product_attention_matches_references(strategy, dtype, seed, case,
                                                         dropout_p):
    batch, L, S, E, E_v, kind, scale = case
    rng = np.random.default_rng(seed)
    inputs = tuple(random_array(rng, (*batch, n, e)) for n, e in ((L, E), (S, E), (S, E_v)))
    params = {"attn_mask": _mask(rng, kind, batch, L, S), "dropout_p": dropout_p,
              "is_causal": kind == "causal", "scale": scale}
    if kind == "causal" and L > S:
        params["is_causal"] = False  # later queries would see no key at all
    check_op(_seeded_attention(seed), inputs, params, strategies=[strategy], dtypes=[dtype],
             seed=seed, fd_elements=24)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_attention_at_vit_shapes_matches_references(strategy, dtype):
    """Batch 2 of 4 heads, 17 tokens of 16 features: the shapes of the ViT on MNIST."""
    rng = np.random.default_rng(17)
    inputs = tuple(random_array(rng, (2, 4, 17, 16)) for _ in range(3))
    check_op(_seeded_attention(0), inputs, strategies=[strategy], dtypes=[dtype],
             fd_elements=8)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_a_query_whose_keys_are_all_masked_gets_zero_output_and_gradients(strategy):
    rng = np.random.default_rng(0)
    q, k, v = (random_array(rng, (2, 3, 4)) for _ in range(3))
    mask = np.ones((2, 3, 3), bool)
    mask[1, 2] = False
    out, logsumexp, _ = F.scaled_dot_product_attention(q, k, v, mask, strategy=strategy)
    assert np.all(out[1, 2] == 0) and np.all(np.isfinite(out))
    grads = F.scaled_dot_product_attention_backward(np.ones_like(out), q, k, v, logsumexp,
                                                    None, mask, strategy=strategy)
    assert np.all(grads[0][1, 2] == 0) and all(np.all(np.isfinite(g)) for g in grads)
    weights = F.attention_weights(q, k, logsumexp, None, mask, strategy=strategy)
    assert np.all(weights[1, 2] == 0)
    np.testing.assert_allclose(weights[0].sum(-1), 1)


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.matmul(np.zeros(3), np.zeros((3, 2))), ValueError, "at least 2 dimensions"),
    (lambda: F.matmul(np.zeros((2, 3)), np.zeros((4, 2))), ValueError, "3 columns"),
    (lambda: F.matmul(np.zeros((2, 2, 3)), np.zeros((3, 3, 2))), ValueError, "broadcast"),
    (lambda: F.matmul(np.zeros((2, 3)), np.zeros((3, 2), np.float32)), TypeError, "dtype"),
    (lambda: F.scaled_dot_product_attention(np.zeros((2, 3)), np.zeros((2, 4)),
                                            np.zeros((2, 3))), ValueError, "features of query"),
    (lambda: F.scaled_dot_product_attention(np.zeros((2, 3)), np.zeros((2, 3)),
                                            np.zeros((4, 3))), ValueError, "tokens of key"),
    (lambda: F.scaled_dot_product_attention(np.zeros((1, 2, 3)), np.zeros((2, 2, 3)),
                                            np.zeros((2, 2, 3))), ValueError, "batch"),
    (lambda: F.scaled_dot_product_attention(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 3)),
                                            np.zeros((3, 3))), ValueError, "does not broadcast"),
    (lambda: F.scaled_dot_product_attention(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 3)),
                                            np.zeros((2, 2), int)), TypeError, "attn_mask"),
    (lambda: F.scaled_dot_product_attention(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 3)),
                                            np.ones((2, 2), bool), is_causal=True),
     ValueError, "not both"),
    (lambda: F.scaled_dot_product_attention(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 3)),
                                            dropout_p=1.5), ValueError, "p"),
])
def test_bad_arguments_are_refused_naming_them(call, error, message):
    with pytest.raises(error, match=message):
        call()
