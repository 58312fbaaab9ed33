"""Folders of your own images, one sub-folder per class (torchvision's ``ImageFolder`` layout),
read with Pillow into arrays; and image files read as a trained model takes them."""

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from mint import _checks as check
from mint.data.sources import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
VAL_FRACTION = 0.1  # of an image folder without train/ and val/, kept apart for validation
_GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")


@dataclass
class ImageFolder:
    """What :func:`load_image_folder` read: ``(images, labels)`` for each split, as float32
    (N, C, H, W) in [0, 1] and int64 (N,), and the class names (the folder names, in order)."""

    train: tuple
    val: tuple
    classes: list


def load_image_folder(root, image_size=None, channels=None, val_fraction=None, seed=0):
    """The images of ``root``, one sub-folder per class (torchvision's ``ImageFolder`` layout).

    With sub-folders ``train`` and ``val`` (each one sub-folder per class) those are the
    splits; else a fraction ``val_fraction`` (default :data:`VAL_FRACTION`) of the images,
    drawn with ``seed``, is the validation split. Files ending in :data:`IMAGE_SUFFIXES` are
    read with Pillow; other files are skipped with a warning that counts them. ``image_size=N``
    crops each image to its largest centred square and resizes it to N x N; without it all the
    images must have one size. ``channels`` is 1 (grayscale) or 3 (RGB); by default 1 when
    every image is grayscale, else 3. Images with transparent pixels are refused. Every
    failure (an empty class folder, a single class, an unreadable image, mixed sizes) raises
    :class:`DataError` naming the file or folder.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"{root} is not a folder; give a folder with one sub-folder of images "
                        f"per class")
    if channels not in (None, 1, 3):
        raise ValueError(f"load_image_folder: channels must be None, 1 or 3, got {channels!r}")
    if image_size is not None:
        image_size = check.integer("load_image_folder", "image_size", image_size, 1)
    if (root / "train").is_dir() and (root / "val").is_dir():
        if val_fraction is not None:
            raise DataError(f"{root} holds train and val folders, so a validation fraction "
                            f"does not apply")
        classes, train_files = _class_files(root / "train")
        val_classes, val_files = _class_files(root / "val")
        if val_classes != classes:
            raise DataError(f"{root / 'val'} holds the classes {', '.join(val_classes)} but "
                            f"{root / 'train'} holds {', '.join(classes)}; they must match")
    else:
        classes, files = _class_files(root)
        train_files, val_files = _split(files, root, val_fraction, seed)
    paths = [path for path, _ in train_files + val_files]
    images = [_decode(path) for path in paths]
    if channels is None:
        channels = 1 if all(image.mode in _GRAY_MODES for image in images) else 3
    other = next((i for i, image in enumerate(images) if image.size != images[0].size), None)
    if image_size is None and other is not None:
        raise DataError(f"{paths[other]} is {_size(images[other])} but {paths[0]} is "
                        f"{_size(images[0])}; give an image size (--image-size N, "
                        f"image_size=N) to resize them all")
    size = None if image_size is None else (image_size, image_size)
    pixels = np.stack([_pixels(image, path, channels, size)
                       for image, path in zip(images, paths, strict=True)])
    labels = np.array([label for _, label in train_files + val_files], dtype=np.int64)
    n = len(train_files)
    return ImageFolder((pixels[:n], labels[:n]), (pixels[n:], labels[n:]), classes)


def read_images(paths, in_shape):
    """The image files ``paths`` as float32 (N, C, H, W) in [0, 1] for a model that takes
    ``in_shape`` (C, H, W): converted to grayscale or RGB, cropped to the aspect ratio of H x W
    around the centre and resized, as :func:`load_image_folder` does."""
    channels, height, width = in_shape
    if channels not in (1, 3):
        raise DataError(f"the model takes images of {channels} channels; image files give 1 "
                        f"(grayscale) or 3 (RGB)")
    return np.stack([_pixels(_decode(path), path, channels, (width, height)) for path in paths])


def image_files(path):
    """``[path]`` for a file; for a folder, the image files in it and below, sorted."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DataError(f"{path}: no such file or folder")
    found = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not found:
        raise DataError(f"{path} holds no image ({', '.join(IMAGE_SUFFIXES)} files)")
    return found


def _class_files(folder):
    """The class names (sub-folders of ``folder``, sorted) and the ``(path, label)`` of each
    image in them; warns of the files skipped as not images."""
    classes = sorted(entry.name for entry in folder.iterdir()
                     if entry.is_dir() and not entry.name.startswith("."))
    if len(classes) < 2:
        held = f"one class folder ({classes[0]})" if classes else "no class folder"
        raise DataError(f"{folder} holds {held}; a classifier needs at least two, one "
                        f"sub-folder of images per class")
    files, skipped = [], []
    for label, name in enumerate(classes):
        entries = sorted(p for p in (folder / name).rglob("*") if p.is_file())
        images = [p for p in entries if p.suffix.lower() in IMAGE_SUFFIXES]
        if not images:
            raise DataError(f"{folder / name} holds no image ({', '.join(IMAGE_SUFFIXES)} "
                            f"files); remove it or put its images in it")
        skipped += [p for p in entries if p.suffix.lower() not in IMAGE_SUFFIXES]
        files += [(p, label) for p in images]
    if skipped:
        warnings.warn(f"skipped {len(skipped)} file(s) in {folder} that are not "
                      f"{'/'.join(IMAGE_SUFFIXES)} images, such as {skipped[0]}", UserWarning,
                      stacklevel=3)
    return classes, files


def _split(files, root, val_fraction, seed):
    """A seeded ``val_fraction`` of ``files`` for validation, the rest for training."""
    fraction = VAL_FRACTION if val_fraction is None else val_fraction
    fraction = check.real("load_image_folder", "val_fraction", fraction, 0.0, below=1.0)
    if fraction == 0:
        raise ValueError("load_image_folder: val_fraction must be in (0, 1), got 0")
    n_val = max(1, round(fraction * len(files)))
    if n_val >= len(files):
        raise DataError(f"{root} holds {len(files)} images: too few to keep a fraction "
                        f"{fraction:g} for validation and train on the others")
    order = np.random.default_rng(seed).permutation(len(files))
    return [files[i] for i in sorted(order[n_val:])], [files[i] for i in sorted(order[:n_val])]


def _decode(path):
    """The image at ``path``, decoded by Pillow, or DataError naming the file. (10,000 32x32
    PNGs take 1.4 s; decoding on two threads saved 7% of that.)"""
    try:
        with Image.open(path) as image:
            image.load()
            return image
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise DataError(f"{path} is not an image Pillow can read ({error})") from None


def _size(image):
    return f"{image.width}x{image.height}"


def _pixels(image, path, channels, size):
    """``image`` as float32 (channels, H, W) in [0, 1]: cropped and resized to ``size``, a
    (width, height) (``None``: as it is)."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        if image.convert("RGBA").getchannel("A").getextrema()[0] < 255:
            raise DataError(f"{path} has transparent pixels; Mint reads grayscale or RGB "
                            f"images: flatten it onto a background first")
    image = image.convert("L" if channels == 1 else "RGB")
    if size is not None and image.size != size:
        image = ImageOps.fit(image, size, Image.Resampling.BILINEAR)
    array = np.asarray(image, dtype=np.float32) / np.float32(255)
    return array[None] if channels == 1 else array.transpose(2, 0, 1)
