"""Fashion-MNIST from its four .gz IDX files, built small here in exactly that format."""

import gzip
import hashlib

import numpy as np
import pytest

from mint.checkpoint import load_checkpoint
from mint.data import DataError, load_fashion_mnist, mnist
from test_cli import run
from test_data import idx_bytes

UNREACHABLE = ("http://127.0.0.1:9/",)


@pytest.fixture
def fashion_dir(tmp_path, monkeypatch):
    """A folder of four small .gz files that mint.data takes for the standard ones; returns
    it and each split's (images, labels) as written."""
    rng = np.random.default_rng(0)
    digests, splits = {}, {}
    for split, count in (("train", 12), ("test", 4)):
        images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, count).astype(np.uint8)
        for stem, array in zip(mnist.MNIST_SPLITS[split], (images, labels), strict=True):
            raw = gzip.compress(idx_bytes(array))
            (tmp_path / f"{stem}.gz").write_bytes(raw)
            digests[stem] = hashlib.sha256(raw).hexdigest()
        splits[split] = images, labels
    monkeypatch.setattr(mnist, "FASHION_MNIST_SHA256", digests)
    monkeypatch.setattr(mnist, "FASHION_MNIST_MIRRORS", UNREACHABLE)
    return tmp_path, splits


def test_the_files_give_images_in_0_1_and_their_labels(fashion_dir):
    folder, splits = fashion_dir
    for split in ("train", "test"):
        images, labels = load_fashion_mnist(folder, split)
        expected_images, expected_labels = splits[split]
        assert images.shape == (len(expected_labels), 1, 28, 28) and images.dtype == np.float32
        np.testing.assert_array_equal(images[:, 0] * 255, expected_images)
        np.testing.assert_array_equal(labels, expected_labels)


def test_a_file_that_is_not_the_standard_one_is_refused_by_name(fashion_dir, monkeypatch):
    folder, _ = fashion_dir
    path = folder / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(4, np.uint8))))
    with pytest.raises(DataError) as error:
        load_fashion_mnist(folder, "test")
    assert str(error.value).startswith(
        f"{path} is not the standard Fashion-MNIST t10k-labels-idx1-ubyte.gz (SHA-256 ")
    assert str(error.value).endswith("; delete it so that it is downloaded again")


def test_missing_files_offline_say_where_to_put_which_files(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist, "FASHION_MNIST_MIRRORS", UNREACHABLE)
    with pytest.raises(DataError) as error:
        load_fashion_mnist(tmp_path, "test", timeout=2)
    text = str(error.value)
    assert text.startswith("could not download t10k-images-idx3-ubyte.gz "
                           "(http://127.0.0.1:9/t10k-images-idx3-ubyte.gz: ")
    assert text.endswith(
        "Put the four Fashion-MNIST files (train-images-idx3-ubyte.gz, "
        "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz, "
        f"from http://127.0.0.1:9/) in {tmp_path}, or give the folder that holds them "
        "(--data-dir)")
    assert "\n" not in text and not list(tmp_path.iterdir())


def test_mint_train_on_fashion_mnist_stores_its_class_names(capsys, fashion_dir):
    folder, _ = fashion_dir
    out = folder / "run"
    status, stdout, err = run(capsys, "train", "--dataset", "fashion-mnist", "--data-dir",
                              folder, "--strategy", "vectorized", "--threads", "1",
                              "--out", out)
    assert status == 0, err
    assert stdout.startswith("fashion-mnist: 12 training and 4 test images")
    checkpoint = load_checkpoint(out / "model.npz")
    assert checkpoint.architecture["in_shape"] == [1, 28, 28]
    assert checkpoint.config["classes"][0] == "T-shirt/top"
