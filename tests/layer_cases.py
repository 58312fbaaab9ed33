"""Every layer type on its own and every model of ``mint.models``, each with the shape of one
example: the cases ONNX export, the PyTorch round trip and the summary are checked on.

Each case is ``(id, build, example_shape)``; ``build(dtype)`` returns a fresh model. Layer
options that change a mapping (no bias, strides, padding, dilation, ceil_mode, start_dim) get
cases of their own.
"""

import numpy as np

from mint import models, nn

LAYER_CASES = [
    ("linear", lambda dtype: nn.Linear(12, 5, dtype=dtype), (12,)),
    ("linear-no-bias", lambda dtype: nn.Linear(7, 3, bias=False, dtype=dtype), (7,)),
    ("conv2d", lambda dtype: nn.Conv2d(3, 4, 3, dtype=dtype), (3, 8, 9)),
    ("conv2d-stride-padding-dilation",
     lambda dtype: nn.Conv2d(2, 3, (3, 2), stride=(2, 1), padding=(1, 2), dilation=(2, 1),
                             dtype=dtype), (2, 11, 9)),
    ("conv2d-no-bias", lambda dtype: nn.Conv2d(2, 3, 1, bias=False, dtype=dtype), (2, 5, 4)),
    ("conv2d-groups", lambda dtype: nn.Conv2d(4, 6, 3, padding=1, groups=2, dtype=dtype),
     (4, 7, 6)),
    ("conv2d-depthwise-same-even-kernel",
     lambda dtype: nn.Conv2d(3, 6, (2, 3), padding="same", dilation=(1, 2), groups=3,
                             bias=False, dtype=dtype), (3, 7, 8)),
    ("conv2d-valid", lambda dtype: nn.Conv2d(2, 3, 3, padding="valid", dtype=dtype), (2, 6, 5)),
    ("conv-transpose2d", lambda dtype: nn.ConvTranspose2d(3, 2, 4, stride=2, padding=1,
                                                          dtype=dtype), (3, 5, 4)),
    ("conv-transpose2d-output-padding-groups-dilation",
     lambda dtype: nn.ConvTranspose2d(4, 6, 3, stride=(2, 3), padding=(1, 0),
                                      output_padding=(1, 2), groups=2, dilation=(1, 2),
                                      dtype=dtype), (4, 4, 3)),
    ("conv-transpose2d-no-bias",
     lambda dtype: nn.ConvTranspose2d(2, 3, 2, bias=False, dtype=dtype), (2, 3, 3)),
    ("max-pool2d", lambda dtype: nn.MaxPool2d(2), (3, 8, 8)),
    ("max-pool2d-ceil-mode", lambda dtype: nn.MaxPool2d(2, ceil_mode=True), (2, 7, 5)),
    ("max-pool2d-ceil-padding-dilation",
     lambda dtype: nn.MaxPool2d(3, 2, padding=1, dilation=2, ceil_mode=True), (2, 10, 9)),
    ("max-pool2d-overlapping-stride-3", lambda dtype: nn.MaxPool2d((3, 2), (3, 1), (1, 0)),
     (2, 10, 6)),
    ("avg-pool2d", lambda dtype: nn.AvgPool2d(2), (3, 8, 8)),
    ("avg-pool2d-ceil-padding-exclude-pad",
     lambda dtype: nn.AvgPool2d(3, 2, padding=1, ceil_mode=True, count_include_pad=False),
     (2, 8, 7)),
    ("avg-pool2d-ceil-past-padding", lambda dtype: nn.AvgPool2d((3, 2), (2, 3), (1, 0), True),
     (2, 6, 8)),
    ("adaptive-avg-pool2d-global", lambda dtype: nn.AdaptiveAvgPool2d(1), (3, 5, 7)),
    ("adaptive-avg-pool2d-dividing", lambda dtype: nn.AdaptiveAvgPool2d((2, None)), (2, 6, 3)),
    # p = 0 in these cases, which compare train-mode passes across generators.
    ("dropout", lambda dtype: nn.Dropout(0.0), (3, 4, 5)),
    ("dropout2d", lambda dtype: nn.Dropout2d(0.0), (3, 4, 5)),
    ("flatten", lambda dtype: nn.Flatten(), (3, 4, 5)),
    ("flatten-start-dim-2", lambda dtype: nn.Flatten(2), (3, 4, 5)),
    ("relu", lambda dtype: nn.ReLU(), (3, 4, 5)),
    ("leaky-relu", lambda dtype: nn.LeakyReLU(0.2), (3, 4, 5)),
    ("sigmoid", lambda dtype: nn.Sigmoid(), (3, 4, 5)),
    ("tanh", lambda dtype: nn.Tanh(), (6,)),
    ("softplus", lambda dtype: nn.Softplus(), (3, 4, 5)),
    ("softplus-beta-threshold", lambda dtype: nn.Softplus(2.0, 3.0), (3, 4, 5)),
    ("gelu", lambda dtype: nn.GELU(), (3, 4, 5)),
    ("gelu-tanh", lambda dtype: nn.GELU(approximate="tanh"), (3, 4, 5)),
    ("silu", lambda dtype: nn.SiLU(), (3, 4, 5)),
    ("softmax", lambda dtype: nn.Softmax(dim=1), (7,)),
    ("softmax-inner-dim", lambda dtype: nn.Softmax(dim=2), (3, 4, 5)),
    ("log-softmax-negative-dim", lambda dtype: nn.LogSoftmax(dim=-2), (3, 4, 5)),
    ("identity", lambda dtype: nn.Identity(), (3, 4)),
    ("batch-norm1d", lambda dtype: nn.BatchNorm1d(6, dtype=dtype), (6,)),
    ("batch-norm1d-sequence", lambda dtype: nn.BatchNorm1d(4, momentum=None, dtype=dtype),
     (4, 7)),
    ("batch-norm2d", lambda dtype: nn.BatchNorm2d(3, eps=1e-3, dtype=dtype), (3, 5, 4)),
    ("nested-sequential", lambda dtype: nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1, dtype=dtype),
        nn.Sequential(nn.Tanh(), nn.MaxPool2d(2)),
        nn.Flatten(), nn.Linear(3 * 4 * 4, 6, dtype=dtype), nn.Sigmoid(),
        nn.Linear(6, 2, dtype=dtype), nn.LeakyReLU(),
    ), (2, 8, 8)),
    ("residual-identity", lambda dtype: nn.Residual(nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1, dtype=dtype), nn.ReLU(),
        nn.Conv2d(3, 2, 3, padding=1, dtype=dtype))), (2, 6, 5)),
    ("residual-projection", lambda dtype: nn.Sequential(
        nn.Residual(nn.Sequential(nn.Conv2d(2, 4, 3, stride=2, padding=1, dtype=dtype),
                                  nn.Tanh()),
                    nn.Conv2d(2, 4, 1, stride=2, bias=False, dtype=dtype)),
        nn.ReLU(), nn.Flatten(), nn.Linear(4 * 3 * 4, 3, dtype=dtype)), (2, 6, 7)),
]

SMALL_IMAGES = ((1, 28, 28), (3, 12, 10))

# The models of mint.models but the larger torchvision networks (resnet34, resnet50 and the
# VGGs: tests/test_torchvision_models.py). resnet18 stands for them, on images large enough
# for train-mode batch statistics of more than a few values per channel (its layer4 sees
# H / 32 x W / 32 positions; on 28 x 28 images one, and float64 gradients lose 4 digits).
MODEL_CASES = [
    (f"{name}-{'x'.join(map(str, in_shape))}",
     lambda dtype, builder=models.MODELS[name], in_shape=in_shape: builder(in_shape).to(dtype),
     in_shape)
    for name, in_shapes in (("lenet", SMALL_IMAGES), ("mlp", SMALL_IMAGES),
                            ("resnet", SMALL_IMAGES), ("resnet18", ((3, 64, 48),)))
    for in_shape in in_shapes
]

CASES = LAYER_CASES + MODEL_CASES
CASE_IDS = [case[0] for case in CASES]

# The transformer's layers and models.vit, on (tokens, features) sequences and images: checked
# by tests/test_transformer_export.py (ONNX, summary, the PyTorch round trip), whose PyTorch
# twins differ in structure from the per-leaf view of the generic tests.
TRANSFORMER_CASES = [
    ("layer-norm", lambda dtype: nn.LayerNorm(5, dtype=dtype), (4, 5)),
    ("layer-norm-two-dims-no-bias", lambda dtype: nn.LayerNorm((4, 5), bias=False, dtype=dtype),
     (3, 4, 5)),
    ("transformer-encoder-layer", lambda dtype: nn.TransformerEncoderLayer(
        8, 2, 12, dtype=dtype), (5, 8)),
    ("transformer-encoder-layer-norm-first-gelu", lambda dtype: nn.TransformerEncoderLayer(
        8, 4, 6, activation="gelu", norm_first=True, dtype=dtype), (3, 8)),
    ("transformer-encoder", lambda dtype: nn.TransformerEncoder(
        nn.TransformerEncoderLayer(6, 3, 10, dropout=0.0, bias=False, dtype=dtype), 2,
        norm=nn.LayerNorm(6, dtype=dtype)), (4, 6)),
    *((f"vit-{'x'.join(map(str, in_shape))}",
       lambda dtype, in_shape=in_shape: models.vit(in_shape, dim=16, depth=2, heads=2,
                                                   mlp_dim=24).to(dtype), in_shape)
      for in_shape in SMALL_IMAGES),
]
TRANSFORMER_CASE_IDS = [case[0] for case in TRANSFORMER_CASES]


def example_batch(shape, batch, dtype=np.float32, seed=0):
    """Standard normal inputs: ``batch`` examples of ``shape``."""
    return np.random.default_rng(seed).standard_normal((batch, *shape)).astype(dtype)
