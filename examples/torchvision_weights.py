"""torchvision's weights in Mint: ResNet-18 from a PyTorch model, checked, exported, deployed.

``mint.models.resnet18`` has torchvision's module names, so a torchvision ``state_dict()``
loads as it is, converted to NumPy arrays. The script takes the weights of a PyTorch ResNet-18
(randomly initialised by PyTorch, with random BatchNorm statistics: nothing is downloaded),
loads them into Mint, checks that both compute the same outputs, exports the Mint model to ONNX
and runs the file in ONNX Runtime, which must agree too. The PyTorch model is torchvision's
``resnet18`` when torchvision can be imported; otherwise the same layout and keys from
``mint.interop.to_torch`` (torchvision-style blocks in a ``torch.nn.Sequential``; torchvision's
only wheel for some platforms is a CUDA build that does not load beside the CPU build of
torch). It needs torch, onnx and onnxruntime, and says so and stops when one is missing.
Run from the repository root:

    python examples/torchvision_weights.py
"""

import argparse
import importlib.util
import tempfile
from pathlib import Path

import numpy as np

import mint
from mint import models

NEEDED = ("torch", "onnx", "onnxruntime")


def pytorch_resnet18(num_classes):
    """A PyTorch ResNet-18 with PyTorch's random weights and random BatchNorm statistics (as a
    trained network has), and where it comes from."""
    import torch

    torch.manual_seed(0)
    try:
        from torchvision.models import resnet18

        module, source = resnet18(weights=None, num_classes=num_classes), "torchvision"
    except (ImportError, OSError, RuntimeError):  # absent, or its compiled ops do not load
        module = mint.interop.to_torch(models.resnet18(num_classes=num_classes))
        for layer in module.modules():
            if hasattr(layer, "reset_parameters"):
                layer.reset_parameters()  # PyTorch's own initialisation
        source = "torchvision's layout from mint.interop.to_torch"
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, torch.nn.BatchNorm2d):
                layer.running_mean.normal_(0, 0.1)
                layer.running_var.uniform_(0.5, 1.5)
    return module.eval(), source


def relative_difference(actual, expected):
    return float(np.abs(actual - expected).max() / np.abs(expected).max())


def main(size, batch, out_dir):
    import onnxruntime
    import torch

    module, source = pytorch_resnet18(num_classes=1000)
    model = models.resnet18((3, size, size), num_classes=1000)
    model.load_state_dict({key: value.numpy() for key, value in module.state_dict().items()})
    model.eval()
    print(f"PyTorch ResNet-18 ({source}): {len(module.state_dict())} state_dict entries "
          f"loaded into mint.models.resnet18 as they are")

    images = np.random.default_rng(0).standard_normal((batch, 3, size, size), np.float32)
    with torch.no_grad():
        expected = module(torch.from_numpy(images)).numpy()
    logits = model(images)
    mint_error = relative_difference(logits, expected)
    print(f"Mint vs PyTorch on {batch} images of {size} x {size}: largest difference "
          f"{mint_error:.1e} of the largest logit; same top class: "
          f"{bool(np.all(logits.argmax(1) == expected.argmax(1)))}")

    path = Path(out_dir) / "resnet18.onnx"
    mint.onnx.export(model, path, (1, 3, size, size))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (runtime_logits,) = session.run(["output"], {"input": images})
    runtime_error = relative_difference(runtime_logits, logits)
    print(f"ONNX Runtime on {path.name} ({path.stat().st_size / 1e6:.1f} MB) vs Mint: "
          f"{runtime_error:.1e}")
    assert mint_error < 1e-5 and runtime_error < 1e-5, (mint_error, runtime_error)
    return mint_error, runtime_error


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=224, help="image height and width")
    parser.add_argument("--batch", type=int, default=2, help="images to compare")
    parser.add_argument("--out", help="folder for resnet18.onnx (default: a temporary one)")
    args = parser.parse_args()
    missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
    if missing:
        print(f"skipped: this example needs {', '.join(missing)} "
              f"(python -m pip install torch==2.13.0 'mint-nn[deploy]')")
    elif args.out:
        main(args.size, args.batch, args.out)
    else:
        with tempfile.TemporaryDirectory() as folder:
            main(args.size, args.batch, folder)
