"""mint.data: the IDX reader, MNIST loading and downloading (offline), digits, batching."""

import gzip
import http.server
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from mint import data, files
from mint.data import Batches, DataError, load_digits, load_mnist, parse_idx, read_idx

MNIST_DIR = Path(os.environ.get("MINT_DATA", "")) if os.environ.get("MINT_DATA") else None
requires_mnist = pytest.mark.skipif(
    MNIST_DIR is None or not (MNIST_DIR / "t10k-labels-idx1-ubyte.gz").is_file(),
    reason="MNIST not found: set MINT_DATA to a folder with the four MNIST files",
)


def idx_bytes(array, type_byte=0x08):
    header = bytes([0, 0, type_byte, array.ndim])
    dims = np.array(array.shape, dtype=">u4").tobytes()
    return header + dims + np.ascontiguousarray(array).tobytes()


# ------------------------------------------------------------------------------------ IDX reader


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_returns_the_stored_array_gzip_or_not(tmp_path, compress):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    raw = idx_bytes(array)
    path = tmp_path / ("a.idx.gz" if compress else "a.idx")
    path.write_bytes(gzip.compress(raw) if compress else raw)
    result = read_idx(path)
    assert result.dtype == np.uint8
    np.testing.assert_array_equal(result, array)


def test_parse_idx_reads_big_endian_int32_and_float64():
    ints = np.array([[1, -2], [70000, 3]], dtype=">i4")
    np.testing.assert_array_equal(parse_idx(idx_bytes(ints, 0x0C)), ints)
    floats = np.array([0.5, -1.25], dtype=">f8")
    np.testing.assert_array_equal(parse_idx(idx_bytes(floats, 0x0E)), floats)


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda raw: b"PK\x03\x04" + raw[4:], "not an IDX file"),
        (lambda raw: raw[:-5], "truncated"),
        (lambda raw: raw[:6], "truncated"),
        (lambda raw: raw + b"\x00", "longer than its header says"),
        (lambda raw: b"", "not an IDX file"),
    ],
)
def test_parse_idx_rejects_a_corrupt_file_naming_it(corrupt, message):
    raw = idx_bytes(np.zeros((3, 2, 2), dtype=np.uint8))
    with pytest.raises(DataError, match=message) as info:
        parse_idx(corrupt(raw), "my-file")
    assert "my-file" in str(info.value)


def test_read_idx_rejects_a_truncated_gzip_file(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.ones((50, 8, 8), dtype=np.uint8)))[:-10])
    with pytest.raises(DataError, match="damaged gzip file"):
        read_idx(path)


# ----------------------------------------------------------------------------------------- MNIST


def test_mnist_dir_prefers_argument_then_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MINT_DATA", str(tmp_path / "env"))
    assert data.mnist_dir(tmp_path / "arg") == tmp_path / "arg"
    assert data.mnist_dir() == tmp_path / "env"
    monkeypatch.delenv("MINT_DATA")
    assert data.mnist_dir() == Path.home() / ".cache" / "mint" / "mnist"


def test_load_mnist_without_files_or_download_says_what_to_do(tmp_path):
    with pytest.raises(DataError, match="not found in .*MINT_DATA"):
        load_mnist(tmp_path, "test", download=False)


def test_load_mnist_accepts_well_formed_files_of_ones_own_with_a_warning(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (10, 28, 28), dtype=np.uint8)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(pixels)))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.arange(10, dtype=np.uint8)))
    with pytest.warns(UserWarning, match="is not the standard t10k-.*using it as it is") as warned:
        images, labels = load_mnist(tmp_path, "test", download=False)
    assert len(warned) == 2
    np.testing.assert_array_equal(images[:, 0], pixels / np.float32(255))
    np.testing.assert_array_equal(labels, np.arange(10))


@pytest.mark.parametrize("images, labels, message", [
    (np.zeros((10, 28, 28), np.uint8), np.array([1, 2, 12, 3, 4, 5, 6, 7, 8, 9], np.uint8),
     r"t10k-labels-idx1-ubyte holds label 12 \(image 2\); MNIST labels are 0 to 9"),
    (np.zeros((10, 28, 28), np.uint8), -np.arange(10, dtype=np.int8),
     r"t10k-labels-idx1-ubyte holds label -1 \(image 1\); MNIST labels are 0 to 9"),
    (np.zeros((10, 28, 28), np.uint8), np.zeros((10, 1), np.uint8),
     r"t10k-labels-idx1-ubyte holds uint8 of shape \(10, 1\); MNIST labels are integers"),
    (np.zeros((10, 784), np.uint8), np.zeros(10, np.uint8),
     r"t10k-images-idx3-ubyte holds uint8 of shape \(10, 784\); MNIST images are unsigned"),
    (np.zeros((10, 28, 28), ">f4"), np.zeros(10, np.uint8),
     "t10k-images-idx3-ubyte holds float32 of shape"),
])
def test_load_mnist_checks_labels_shapes_and_types_naming_the_file(tmp_path, images, labels,
                                                                   message):
    types = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(">f4"): 0x0D}
    for stem, array in zip(data.MNIST_SPLITS["test"], (images, labels), strict=True):
        (tmp_path / stem).write_bytes(idx_bytes(array, types[array.dtype]))
    with pytest.raises(DataError, match=message), pytest.warns(UserWarning):
        load_mnist(tmp_path, "test", download=False)


def test_load_mnist_rejects_a_damaged_file_with_advice(tmp_path):
    damaged = idx_bytes(np.zeros((10, 28, 28), dtype=np.uint8))[:-5]
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(damaged)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.arange(10, dtype=np.uint8)))
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte is truncated.*delete it"):
        load_mnist(tmp_path, "test", download=False)


def test_a_data_folder_that_is_a_file_is_reported_as_not_a_directory(tmp_path, monkeypatch):
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n")
    monkeypatch.setenv("MINT_DATA", str(hosts))
    with pytest.raises(DataError, match=f"MINT_DATA={hosts} is not a directory"):
        load_mnist(split="test")
    with pytest.raises(DataError, match=f"{hosts} is not a directory"):
        data.missing_mnist_files(hosts)


@requires_mnist
def test_load_mnist_test_split_has_standard_shapes_and_values():
    images, labels = load_mnist(split="test", download=False)
    assert images.shape == (10000, 1, 28, 28) and images.dtype == np.float32
    assert labels.shape == (10000,) and labels.dtype == np.int64
    assert images.min() == 0.0 and images.max() == 1.0
    np.testing.assert_array_equal(labels[:5], [7, 2, 1, 0, 4])
    np.testing.assert_array_equal(np.bincount(labels)[:3], [980, 1135, 1032])


@requires_mnist
def test_load_mnist_reads_uncompressed_files_too(tmp_path):
    for stem in data.MNIST_SPLITS["test"]:
        (tmp_path / stem).write_bytes(gzip.decompress((MNIST_DIR / f"{stem}.gz").read_bytes()))
    images, labels = load_mnist(tmp_path, "test", download=False)
    assert images.shape == (10000, 1, 28, 28) and labels[0] == 7


# --------------------------------------------------------------------------------- downloading


@requires_mnist
def test_download_from_a_mirror_writes_verified_files(tmp_path):
    mirrors = ["file:///nonexistent/mirror/", MNIST_DIR.as_uri()]  # the first one fails
    previous = os.umask(0o022)
    try:
        images, labels = load_mnist(tmp_path / "cache", "test", mirrors=mirrors)
    finally:
        os.umask(previous)
    assert images.shape == (10000, 1, 28, 28) and labels[0] == 7
    written = sorted((tmp_path / "cache").iterdir())
    assert [p.name for p in written] == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in written)  # as the umask says


class _TruncatingHandler(http.server.BaseHTTPRequestHandler):
    """Announces the whole file, sends half of it, then drops the connection."""

    payload = b""

    def do_GET(self):  # noqa: N802 (the name http.server calls)
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.payload)))
        self.end_headers()
        self.wfile.write(self.payload[: len(self.payload) // 2])
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def truncating_server():
    _TruncatingHandler.payload = gzip.compress(b"\x00" * 20000)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _TruncatingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_a_truncated_download_raises_and_leaves_no_file(tmp_path, truncating_server):
    with pytest.raises(DataError, match="could not download t10k-labels") as info:
        data.download_mnist_file("t10k-labels-idx1-ubyte", tmp_path, [truncating_server], 5)
    assert "by hand" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_a_download_that_does_not_verify_is_not_kept(tmp_path):
    bogus = tmp_path / "mirror"
    bogus.mkdir()
    (bogus / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"not mnist"))
    target = tmp_path / "cache"
    with pytest.raises(DataError, match="not the standard t10k-labels"):
        data.download_mnist_file("t10k-labels-idx1-ubyte", target, [bogus.as_uri()])
    assert not target.exists() or list(target.iterdir()) == []


def test_an_unreachable_mirror_fails_fast_with_advice(tmp_path):
    with pytest.raises(DataError, match="MINT_DATA"):
        load_mnist(tmp_path, "train", mirrors=["http://127.0.0.1:9/"], timeout=2)
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_atomic_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "file.gz"
    target.write_bytes(b"old")

    def crash(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        files.write_atomically(target, lambda file: file.write(b"new"))
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.gz"]


# ---------------------------------------------------------------------------------------- digits


def test_load_digits_splits_are_disjoint_and_cover_everything():
    train_x, train_y = load_digits("train")
    test_x, test_y = load_digits("test")
    all_x, _ = load_digits("all")
    assert train_x.shape[1:] == (1, 8, 8) and train_x.dtype == np.float32
    assert train_y.dtype == np.int64 and len(train_y) + len(test_y) == len(all_x) == 1797
    assert 0.0 <= train_x.min() and train_x.max() == 1.0
    train_rows = {row.tobytes() for row in train_x}
    assert sum(row.tobytes() in train_rows for row in test_x) < 5  # a few digits repeat
    assert set(np.unique(test_y)) == set(range(10))


def test_load_digits_rejects_an_unknown_split():
    with pytest.raises(ValueError, match="split"):
        load_digits("validation")


# -------------------------------------------------------------------------------------- batching


def make_data(n=10):
    return np.arange(n, dtype=np.float32).reshape(n, 1, 1, 1), np.arange(n)


@pytest.mark.parametrize("drop_last, sizes", [(False, [4, 4, 2]), (True, [4, 4])])
def test_batches_in_order_without_shuffle(drop_last, sizes):
    images, labels = make_data()
    batches = Batches(images, labels, 4, drop_last=drop_last)
    assert len(batches) == len(sizes)
    got = list(batches)
    assert [len(y) for _, y in got] == sizes
    np.testing.assert_array_equal(np.concatenate([y for _, y in got]), labels[: sum(sizes)])
    for x, y in got:
        np.testing.assert_array_equal(x[:, 0, 0, 0], y)


def test_shuffled_batches_visit_every_example_once_and_reshuffle_each_pass():
    images, labels = make_data(50)
    batches = Batches(images, labels, 7, shuffle=True, seed=3)
    first = np.concatenate([y for _, y in batches])
    second = np.concatenate([y for _, y in batches])
    assert sorted(first) == list(range(50)) and sorted(second) == list(range(50))
    assert not np.array_equal(first, second)
    again = np.concatenate([y for _, y in Batches(images, labels, 7, shuffle=True, seed=3)])
    np.testing.assert_array_equal(first, again)


def test_batches_use_a_given_generator_so_its_state_can_be_restored():
    images, labels = make_data(20)
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    batches = Batches(images, labels, 5, shuffle=True, seed=rng)
    assert batches.rng is rng
    first = [y.tolist() for _, y in batches]
    rng.bit_generator.state = state
    assert [y.tolist() for _, y in batches] == first


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True])
def test_batches_reject_a_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        Batches(*make_data(), batch_size)


def test_batches_reject_mismatched_lengths():
    images, labels = make_data()
    with pytest.raises(ValueError, match="same length"):
        Batches(images, labels[:-1], 2)
