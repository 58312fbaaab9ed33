"""mint.predict and ``mint predict``: image files read as the training images were."""

import csv

import numpy as np
import pytest
from PIL import Image

import mint
from mint import cli, data
from mint.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from mint.data import DataError
from test_cli import run
from test_image_folder import QUICK, make_folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A folder of 16x16 images of three colours, and a model trained on it at 8x8."""
    root = tmp_path_factory.mktemp("predict")
    make_folder(root / "images", per_class=5, size=(16, 16))
    assert cli.main([*map(str, ["train", *QUICK, "--data-dir", root / "images", "--image-size",
                                "8", "--out", root / "run"])]) == 0
    return root / "images", root / "run" / "model.npz"


def expected_probabilities(model_file, images):
    """What the saved model gives ``images`` standardised as its training set: by hand."""
    checkpoint = load_checkpoint(model_file)
    model = checkpoint.build_model()
    model.eval()
    normalize = checkpoint.config["normalize"]
    logits = model((images - np.array(normalize["mean"], np.float32)[:, None, None])
                   / np.array(normalize["std"], np.float32)[:, None, None])
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def test_predict_reads_images_as_training_did(trained):
    images_dir, model_file = trained
    files = sorted(images_dir.rglob("*.png"))
    pixels = data.read_images(files, (3, 8, 8))
    folder = data.load_image_folder(images_dir, image_size=8)
    training = np.concatenate([folder.train[0], folder.val[0]])
    for image in pixels:  # the same arrays as the training split (in another order)
        assert (training == image).all(axis=(1, 2, 3)).sum() == 1

    results = mint.predict(model_file, images_dir, top=3)
    assert [path for path, _ in results] == files
    probabilities = expected_probabilities(model_file, pixels)
    for (_, ranked), row in zip(results, probabilities, strict=True):
        assert [name for name, _ in ranked] == [folder.classes[k] for k in np.argsort(-row)]
        np.testing.assert_allclose([p for _, p in ranked], np.sort(row)[::-1], rtol=1e-5)


def test_gray_images_of_another_size_are_converted_for_an_rgb_model(trained, tmp_path):
    images_dir, model_file = trained
    source = images_dir / "red" / "3.png"
    gray = tmp_path / "gray.bmp"
    Image.open(source).convert("L").resize((32, 32)).save(gray)  # gray, 4 times the size
    (_, ranked), = mint.predict(model_file, [gray], top=1)
    expected = Image.open(source).convert("L").convert("RGB").resize((8, 8),
                                                                     Image.Resampling.BILINEAR)
    pixels = np.asarray(expected, np.float32).transpose(2, 0, 1)[None] / 255
    assert data.read_images([gray], (3, 8, 8)).shape == (1, 3, 8, 8)
    row = expected_probabilities(model_file, pixels)[0]
    assert ranked[0][0] == ["blue", "green", "red"][np.argmax(row)]
    assert ranked[0][1] == pytest.approx(row.max(), abs=0.05)  # resized in another order


def test_mint_predict_prints_one_line_per_image_and_writes_a_table(capsys, trained, tmp_path):
    images_dir, model_file = trained
    table = tmp_path / "predictions.csv"
    status, out, err = run(capsys, "predict", model_file, images_dir / "green",
                           images_dir / "red" / "0.png", "--top", "2", "--csv", table)
    assert status == 0, err
    results = mint.predict(model_file, [images_dir / "green", images_dir / "red" / "0.png"],
                           top=2)
    lines = out.splitlines()
    assert lines[:-1] == [f"{path}: {a} {100 * p:.1f}%, {b} {100 * q:.1f}%"
                          for path, ((a, p), (b, q)) in results]
    assert lines[-1] == f"wrote {table}" and len(lines) == 7
    with open(table, newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["path", "class_1", "probability_1", "class_2", "probability_2"]
    assert [(row[0], row[1], float(row[2])) for row in rows[1:]] == [
        (str(path), ranked[0][0], pytest.approx(ranked[0][1], abs=1e-6))
        for path, ranked in results]


def test_bad_images_and_options_are_refused_in_one_line(capsys, trained, tmp_path):
    _, model_file = trained
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    clear = tmp_path / "clear.png"
    Image.new("RGBA", (8, 8), (0, 0, 0, 0)).save(clear)
    (tmp_path / "empty").mkdir()
    for argv, status, expected in (
            ([text], 1, f"{text} is not an image Pillow can read"),
            ([clear], 1, f"{clear} has transparent pixels; Mint reads grayscale or RGB images"),
            ([tmp_path / "empty"], 1, f"{tmp_path / 'empty'} holds no image"),
            ([tmp_path / "absent.png"], 1, f"{tmp_path / 'absent.png'}: no such file or folder"),
            ([clear, "--top", "4"], 2, "--top 4: the model has 3 classes")):
        code, _, err = run(capsys, "predict", model_file, *argv)
        assert code == status and expected in err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    with pytest.raises(DataError, match="notes.png is not an image"):
        mint.predict(model_file, [text])


def test_a_digits_model_names_its_classes_by_number(capsys, tmp_path):
    status, _, _ = run(capsys, "train", "--dataset", "digits", "--limit", "50", "--epochs", "1",
                       "--out", tmp_path / "run")
    assert status == 0
    digit = tmp_path / "digit.png"
    Image.fromarray((data.load_digits("test")[0][0, 0] * 255).astype(np.uint8)).save(digit)
    (path, ranked), = mint.predict(tmp_path / "run" / "model.npz", digit, top=10)
    assert path == digit and sorted(name for name, _ in ranked) == [str(d) for d in range(10)]
    assert sum(p for _, p in ranked) == pytest.approx(1.0)


@pytest.mark.parametrize("setting, value", [("normalize", {"mean": [0.5], "std": [1.0]}),
                                            ("normalize", {"mean": [0.5] * 3, "std": [0.0] * 3}),
                                            ("classes", ["blue", "green"])])
def test_a_checkpoint_whose_stored_data_settings_do_not_fit_is_refused(trained, tmp_path,
                                                                       setting, value):
    images_dir, model_file = trained
    checkpoint = load_checkpoint(model_file)
    edited = save_checkpoint(tmp_path / "model.npz", checkpoint.build_model(),
                             checkpoint.architecture,
                             config={**checkpoint.config, setting: value})
    with pytest.raises(CheckpointError, match=f"^{edited}: its run setting '{setting}' must"):
        mint.predict(edited, images_dir)
