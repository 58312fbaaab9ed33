"""CIFAR-10 from its binary archive, built small here in exactly its format (no network)."""

import hashlib
import io
import tarfile

import numpy as np
import pytest

from mint.checkpoint import load_checkpoint
from mint.data import DataError, cifar10, load_cifar10
from test_cli import run

UNREACHABLE = ("http://127.0.0.1:9/cifar-10-binary.tar.gz",)


def cifar_archive(records_per_batch=2, seed=0):
    """A cifar-10-binary.tar.gz of 5 training batches and a test batch, each of
    ``records_per_batch`` random records; returns its bytes and each split's (pixels, labels)."""
    rng = np.random.default_rng(seed)
    buffer, splits = io.BytesIO(), {"train": [], "test": []}
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for split, names in cifar10.CIFAR10_BATCHES.items():
            for name in names:
                records = rng.integers(0, 256, (records_per_batch, 3073), dtype=np.uint8)
                records[:, 0] %= 10
                splits[split].append(records)
                member = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
                member.size = records.size
                archive.addfile(member, io.BytesIO(records.tobytes()))
    splits = {split: (np.concatenate(r)[:, 1:], np.concatenate(r)[:, 0])
              for split, r in splits.items()}
    return buffer.getvalue(), splits


@pytest.fixture
def cifar_dir(tmp_path, monkeypatch):
    """A folder holding a small archive that mint.data takes for the standard one."""
    raw, splits = cifar_archive()
    (tmp_path / cifar10.CIFAR10_ARCHIVE).write_bytes(raw)
    monkeypatch.setattr(cifar10, "CIFAR10_SIZE", len(raw))
    monkeypatch.setattr(cifar10, "CIFAR10_SHA256", hashlib.sha256(raw).hexdigest())
    monkeypatch.setattr(cifar10, "CIFAR10_URLS", UNREACHABLE)
    return tmp_path, splits


def test_records_become_channel_planes_of_32x32_images(cifar_dir):
    folder, splits = cifar_dir
    for split, count in (("train", 10), ("test", 2)):
        images, labels = load_cifar10(folder, split)
        pixels, expected_labels = splits[split]
        assert images.shape == (count, 3, 32, 32) and images.dtype == np.float32
        np.testing.assert_array_equal(labels, expected_labels)
        # Byte 1 + 1024 c + 32 y + x of a record is channel c, row y, column x.
        assert images[1, 2, 5, 7] == np.float32(pixels[1, 1024 * 2 + 32 * 5 + 7]) / 255
        np.testing.assert_array_equal(images.reshape(count, -1) * 255, pixels)


def test_an_archive_of_the_wrong_size_or_checksum_is_refused_in_one_line(cifar_dir):
    folder, _ = cifar_dir
    path = folder / cifar10.CIFAR10_ARCHIVE
    raw = path.read_bytes()
    path.write_bytes(raw[:-10])
    with pytest.raises(DataError) as error:
        load_cifar10(folder)
    assert str(error.value) == (f"{path} is {len(raw) - 10:,} bytes, but "
                                f"cifar-10-binary.tar.gz is {len(raw):,}: truncated or another "
                                f"file; delete it so that it is downloaded again")
    path.write_bytes(raw[:-1] + bytes([raw[-1] ^ 1]))
    with pytest.raises(DataError, match=f"^{path} is not the standard cifar-10-binary.tar.gz "
                                        r"\(SHA-256 [0-9a-f]{12}\.\.\., expected"):
        load_cifar10(folder)


def test_a_missing_archive_offline_says_where_to_put_which_file(tmp_path, monkeypatch):
    monkeypatch.setattr(cifar10, "CIFAR10_URLS", UNREACHABLE)
    with pytest.raises(DataError) as error:
        load_cifar10(tmp_path, timeout=2)
    text = str(error.value)
    assert text.startswith(f"could not download cifar-10-binary.tar.gz ({UNREACHABLE[0]}: ")
    assert text.endswith(f"Put cifar-10-binary.tar.gz (170,052,171 bytes, from "
                         f"http://127.0.0.1:9/) in {tmp_path}, or give the "
                         f"folder that holds it (--data-dir)")
    assert "\n" not in text and not list(tmp_path.iterdir())


def test_bad_labels_and_records_are_refused_naming_the_archive(tmp_path, monkeypatch):
    raw, _ = cifar_archive()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as source, \
            tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for member in source.getmembers():
            contents = bytearray(source.extractfile(member).read())
            contents[0] = 10 if member.name.endswith("test_batch.bin") else contents[0]
            archive.addfile(member, io.BytesIO(bytes(contents)))
    path = tmp_path / cifar10.CIFAR10_ARCHIVE
    path.write_bytes(buffer.getvalue())
    monkeypatch.setattr(cifar10, "CIFAR10_SIZE", len(buffer.getvalue()))
    monkeypatch.setattr(cifar10, "CIFAR10_SHA256", hashlib.sha256(buffer.getvalue()).hexdigest())
    with pytest.raises(DataError, match=f"^{path} holds label 10 \\(record 0 of test\\)"):
        load_cifar10(tmp_path, "test")


def test_mint_train_on_cifar10_builds_an_rgb_model_of_its_ten_classes(capsys, cifar_dir):
    folder, _ = cifar_dir
    out = folder / "run"
    status, stdout, err = run(capsys, "train", "--dataset", "cifar10", "--data-dir", folder,
                              "--epochs", "1", "--strategy", "vectorized", "--threads", "1",
                              "--augment", "crop,flip", "--out", out)
    assert status == 0, err
    assert stdout.startswith("cifar10: 10 training and 2 test images")
    checkpoint = load_checkpoint(out / "model.npz")
    assert checkpoint.architecture["in_shape"] == [3, 32, 32]
    assert checkpoint.config["classes"] == cifar10.CIFAR10_CLASSES
    assert len(checkpoint.config["normalize"]["mean"]) == 3
