"""Your own images: mint.data.load_image_folder, and mint train / evaluate on --dataset folder."""

import numpy as np
import pytest
from PIL import Image

from mint import data
from mint.checkpoint import load_checkpoint
from mint.data import DataError, load_image_folder
from test_cli import run

COLOURS = {"blue": (20, 40, 230), "green": (30, 200, 60), "red": (220, 30, 40)}
# A quick run on a folder: the vectorized loops on one thread, one epoch.
QUICK = ["--dataset", "folder", "--strategy", "vectorized", "--threads", "1", "--epochs", "1",
         "--batch-size", "4"]


def make_folder(root, per_class=4, size=(8, 8), colours=COLOURS, mode="RGB"):
    """``root/<class>/<i>.png``: ``per_class`` images of each class, each a plain colour plus a
    white pixel at place ``i`` in reading order (so no two images are the same)."""
    for name, colour in colours.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            image = Image.new("RGB", size, colour)
            image.putpixel((i % size[0], i // size[0]), (255, 255, 255))
            image.convert(mode).save(root / name / f"{i}.png")
    return root


def message(error_info):
    text = str(error_info.value)
    assert "\n" not in text
    return text


# ----------------------------------------------------------------------------- load_image_folder


def test_a_folder_gives_its_classes_its_pixels_and_a_seeded_split(tmp_path):
    make_folder(tmp_path, per_class=10)
    folder = load_image_folder(tmp_path, val_fraction=0.2, seed=3)
    assert folder.classes == ["blue", "green", "red"]
    (train_x, train_y), (val_x, _) = folder.train, folder.val
    assert train_x.shape == (24, 3, 8, 8) and val_x.shape == (6, 3, 8, 8)
    assert train_x.dtype == np.float32 and train_y.dtype == np.int64
    for images, labels in (folder.train, folder.val):
        for image, label in zip(images, labels, strict=True):  # each image is its class colour
            colour = np.array(COLOURS[folder.classes[label]], np.float32) / 255
            np.testing.assert_array_equal(image[:, -1, -1], colour)
    # The same seed gives the same split; another seed another one; together every image.
    again = load_image_folder(tmp_path, val_fraction=0.2, seed=3)
    np.testing.assert_array_equal(again.val[0], val_x)
    other = load_image_folder(tmp_path, val_fraction=0.2, seed=4)
    assert not np.array_equal(other.val[0], val_x)
    every = np.concatenate([train_x, val_x])
    assert len(np.unique(every.reshape(len(every), -1), axis=0)) == 30


def test_train_and_val_sub_folders_are_the_splits(tmp_path):
    make_folder(tmp_path / "train", per_class=3)
    make_folder(tmp_path / "val", per_class=2)
    folder = load_image_folder(tmp_path)
    assert len(folder.train[1]) == 9 and len(folder.val[1]) == 6
    assert folder.val[1].tolist() == [0, 0, 1, 1, 2, 2]
    with pytest.raises(DataError, match="holds train and val folders"):
        load_image_folder(tmp_path, val_fraction=0.5)


def test_gray_images_give_one_channel_unless_rgb_is_asked_for(tmp_path):
    make_folder(tmp_path, mode="L")
    assert load_image_folder(tmp_path).train[0].shape[1] == 1
    rgb = load_image_folder(tmp_path, channels=3).train[0]
    np.testing.assert_array_equal(rgb[:, 0], rgb[:, 2])  # gray replicated into R, G, B
    make_folder(tmp_path, colours={"purple": (128, 0, 128)})
    assert load_image_folder(tmp_path).train[0].shape[1] == 3  # one RGB class: all RGB


def test_image_size_crops_the_centred_square_then_resizes(tmp_path):
    # 24x8 images: a red centre square between a green left and a blue right third.
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(3):
            image = Image.new("RGB", (24, 8), (0, 255, 0))
            image.paste((255, 0, 0), (8, 0, 16, 8))
            image.paste((0, 0, 255), (16, 0, 24, 8))
            image.save(tmp_path / name / f"{i}.png")
    images = load_image_folder(tmp_path, image_size=8, val_fraction=0.3).train[0]
    assert images.shape[1:] == (3, 8, 8)
    np.testing.assert_array_equal(images[:, 0], 1.0)  # only the red square is left
    np.testing.assert_array_equal(images[:, 1:], 0.0)
    smaller = load_image_folder(tmp_path, image_size=4, val_fraction=0.3).train[0]
    assert smaller.shape[1:] == (3, 4, 4)  # resized with Pillow's (antialiasing) bilinear
    assert smaller[:, 0].min() > 0.8 and smaller[:, 1:].max() < 0.2


def test_channel_statistics_standardise_each_channel():
    images = np.random.default_rng(0).random((5, 3, 4, 4), dtype=np.float32) * [[[2]], [[3]],
                                                                               [[0]]]
    statistics = data.channel_statistics(images.astype(np.float32))
    assert statistics["std"][2] == 1.0  # a channel that never varies is not divided by 0
    standard = data.normalize(images.astype(np.float32), **statistics)
    np.testing.assert_allclose(standard[:, :2].mean(axis=(0, 2, 3)), 0, atol=1e-6)
    np.testing.assert_allclose(standard[:, :2].std(axis=(0, 2, 3)), 1, atol=1e-5)


# ---------------------------------------------------------------------------------- bad folders


def test_an_empty_class_folder_is_refused_by_name(tmp_path):
    make_folder(tmp_path)
    (tmp_path / "yellow").mkdir()
    with pytest.raises(DataError) as error:
        load_image_folder(tmp_path)
    assert f"{tmp_path / 'yellow'} holds no image (.png, .jpg, .jpeg, .bmp files)" in message(
        error)


def test_files_that_are_not_images_are_skipped_and_counted(tmp_path):
    make_folder(tmp_path)
    (tmp_path / "red" / "notes.txt").write_text("not an image")
    (tmp_path / "blue" / "Thumbs.db").write_bytes(b"\0")
    with pytest.warns(UserWarning, match=r"skipped 2 file\(s\) in .* that are not "
                                         r"\.png/\.jpg/\.jpeg/\.bmp images, such as .*Thumbs"):
        folder = load_image_folder(tmp_path)
    assert len(folder.train[1]) + len(folder.val[1]) == 12


def test_a_corrupt_png_is_refused_by_name(tmp_path):
    make_folder(tmp_path)
    broken = tmp_path / "green" / "2.png"
    broken.write_bytes(broken.read_bytes()[:40])
    with pytest.raises(DataError) as error:
        load_image_folder(tmp_path)
    assert message(error).startswith(f"{broken} is not an image Pillow can read")


def test_images_of_mixed_sizes_need_an_image_size(tmp_path):
    make_folder(tmp_path)
    make_folder(tmp_path, per_class=1, size=(12, 10), colours={"red": (200, 0, 0)})
    with pytest.raises(DataError) as error:
        load_image_folder(tmp_path)
    assert message(error) == (f"{tmp_path / 'red' / '0.png'} is 12x10 but "
                              f"{tmp_path / 'blue' / '0.png'} is 8x8; give an image size "
                              f"(--image-size N, image_size=N) to resize them all")
    assert load_image_folder(tmp_path, image_size=8).train[0].shape[2:] == (8, 8)


@pytest.mark.parametrize("classes, held", [({}, "no class folder"),
                                           ({"red": (255, 0, 0)}, "one class folder (red)")])
def test_a_folder_with_fewer_than_two_classes_is_refused(tmp_path, classes, held):
    make_folder(tmp_path, colours=classes)
    with pytest.raises(DataError) as error:
        load_image_folder(tmp_path)
    assert message(error) == (f"{tmp_path} holds {held}; a classifier needs at least two, one "
                              f"sub-folder of images per class")


def test_transparent_images_and_too_small_folders_are_refused(tmp_path):
    make_folder(tmp_path, per_class=1)
    with pytest.raises(DataError, match="holds 3 images: too few to keep a fraction 0.9"):
        load_image_folder(tmp_path, val_fraction=0.9)
    clear = tmp_path / "red" / "clear.png"
    Image.new("RGBA", (8, 8), (255, 0, 0, 0)).save(clear)
    with pytest.raises(DataError, match=f"^{clear} has transparent pixels"):
        load_image_folder(tmp_path, val_fraction=0.5)


# ------------------------------------------------------------------------- mint train, evaluate


def test_mint_train_on_a_folder_stores_classes_and_normalisation(capsys, tmp_path):
    make_folder(tmp_path / "images", per_class=6)
    out = tmp_path / "run"
    status, stdout, err = run(capsys, "train", *QUICK, "--data-dir", tmp_path / "images",
                              "--val-fraction", "0.25", "--augment", "crop=1,flip",
                              "--out", out)
    assert status == 0, err
    assert stdout.startswith("folder: 14 training and 4 test images")
    checkpoint = load_checkpoint(out / "model.npz")
    assert checkpoint.architecture["in_shape"] == [3, 8, 8]
    assert checkpoint.architecture["num_classes"] == 3
    assert checkpoint.config["classes"] == ["blue", "green", "red"]
    train = load_image_folder(tmp_path / "images", val_fraction=0.25).train[0]
    assert checkpoint.config["normalize"] == data.channel_statistics(train)

    # evaluate reads the same split, normalised the same: the run's last test accuracy.
    status, stdout, err = run(capsys, "evaluate", out / "model.npz", "--data-dir",
                              tmp_path / "images", "--strategy", "vectorized")
    assert status == 0, err
    accuracy = checkpoint.history[-1]["test_accuracy"]
    assert f"folder test (4 images): accuracy {100 * accuracy:.2f}%" in stdout

    # A folder whose classes are not the run's is refused.
    make_folder(tmp_path / "other", colours={"cat": (1, 2, 3), "dog": (4, 5, 6)})
    status, _, err = run(capsys, "evaluate", out / "model.npz", "--data-dir", tmp_path / "other")
    assert status == 1
    assert err.strip() == (f"mint evaluate: error: {tmp_path / 'other'} holds the classes cat, "
                           f"dog, but {out / 'model.npz'} was trained on blue, green, red")


def test_the_folder_options_are_checked_and_belong_to_the_folder_data_set(capsys, tmp_path):
    for argv, expected in (
            (["--dataset", "digits", "--image-size", "8"],
             "--image-size applies to --dataset folder only"),
            (["--val-fraction", "1"], "--val-fraction: must be in (0, 1), got 1"),
            (["--channels", "2"], "--channels: invalid choice: 2"),
            (["--dataset", "folder"], "the folder data set needs the folder of images: "
                                      "--data-dir DIR"),
            (["--dataset", "folder", "--data-dir", tmp_path / "none"],
             f"{tmp_path / 'none'} is not a folder")):
        status, _, err = run(capsys, "train", *argv, "--out", tmp_path / "run")
        assert status in (1, 2) and expected in err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("model", ["mlp", "resnet"])
def test_every_model_takes_the_shape_and_classes_of_the_folder(capsys, tmp_path, model):
    make_folder(tmp_path / "images", mode="L", colours={**COLOURS, "white": (255, 255, 255)})
    status, _, err = run(capsys, "train", *QUICK, "--data-dir", tmp_path / "images", "--model",
                         model, "--val-fraction", "0.25", "--out", tmp_path / "run")
    assert status == 0, err
    checkpoint = load_checkpoint(tmp_path / "run" / "model.npz")
    assert checkpoint.architecture == {"name": model, "in_shape": [1, 8, 8], "num_classes": 4}
    assert checkpoint.build_model()(np.zeros((2, 1, 8, 8), np.float32)).shape == (2, 4)
