"""The synthetic facades set: archive layout, determinism, plausible labels and photos."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from pix2pix_ablation.data.loader import load_split
from pix2pix_ablation.data.palette import CLASS_NAMES, NUM_CLASSES, rgb_to_class
from pix2pix_ablation.data.synthetic import make_canvas, make_dataset, make_pair

SIZE = 64
FACADE, WINDOW = CLASS_NAMES.index("facade"), CLASS_NAMES.index("window")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("synth")
    return out, make_dataset(out, train=8, val=3, test=2, size=SIZE, seed=5)


def read(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        assert img.format == "JPEG" and img.mode == "RGB"
        return np.asarray(img)


def test_layout_counts_and_sizes(dataset: tuple[Path, dict]) -> None:
    out, manifest = dataset
    assert manifest["counts"] == {"train": 8, "val": 3, "test": 2}
    assert manifest["size"] == SIZE and manifest["seed"] == 5
    for split, n in manifest["counts"].items():
        names = sorted(p.name for p in (out / split).iterdir())
        assert names == sorted(f"{k}.jpg" for k in range(1, n + 1))
        for name in names:
            assert read(out / split / name).shape == (SIZE, 2 * SIZE, 3)


def test_loads_as_facades_btoa(dataset: tuple[Path, dict]) -> None:
    out, _ = dataset
    images = load_split(out, "val", SIZE, "BtoA")
    assert images.names == ["1", "2", "3"]
    # BtoA: the model input is the label map (right half)
    right = read(out / "val" / "1.jpg")[:, SIZE:]
    assert np.array_equal(images.inputs[0].permute(1, 2, 0).numpy(), right)


def test_deterministic_per_seed(tmp_path: Path, dataset: tuple[Path, dict]) -> None:
    out, _ = dataset
    make_dataset(tmp_path / "same", 2, 1, 0, SIZE, seed=5)
    make_dataset(tmp_path / "other", 2, 1, 0, SIZE, seed=6)
    for rel in ("train/1.jpg", "train/2.jpg", "val/1.jpg"):
        assert (tmp_path / "same" / rel).read_bytes() == (out / rel).read_bytes()
        assert not np.array_equal(read(tmp_path / "other" / rel), read(out / rel))


def test_splits_and_images_are_all_different(dataset: tuple[Path, dict]) -> None:
    out, _ = dataset
    digests = [hashlib.sha256(p.read_bytes()).hexdigest() for p in out.glob("*/*.jpg")]
    assert len(digests) == 13 and len(set(digests)) == 13


def test_label_half_is_the_palette_layout(dataset: tuple[Path, dict]) -> None:
    out, _ = dataset
    totals = np.zeros(NUM_CLASSES)
    for k in range(1, 9):
        classes = rgb_to_class(read(out / "train" / f"{k}.jpg")[:, SIZE:])
        _, layout = make_pair(5, "train", k, SIZE)
        assert (classes == layout).mean() > 0.98  # JPEG keeps nearest-colour classes intact
        counts = np.bincount(classes.ravel(), minlength=NUM_CLASSES)
        assert (counts > 0.005 * classes.size).sum() >= 5
        totals += counts
    order = np.argsort(-totals)
    assert order[0] == FACADE and WINDOW in order[:3]


def jpeg_bytes(canvas: np.ndarray, **options: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(canvas).save(buf, format="JPEG", **options)
    return buf.getvalue()


def test_default_jpeg_is_unchanged(dataset: tuple[Path, dict]) -> None:
    # quality 95 with full-resolution chroma, as before the option existed: same bytes, same manifest
    out, manifest = dataset
    assert "jpeg" not in manifest
    for k in (1, 2):
        expected = jpeg_bytes(make_canvas(5, "val", k, SIZE), quality=95, subsampling=0)
        assert (out / "val" / f"{k}.jpg").read_bytes() == expected


def test_standard_jpeg_option(tmp_path: Path) -> None:
    size = 256
    manifest = make_dataset(tmp_path, 0, 0, 3, size, seed=2, jpeg_quality=75, subsampling="4:2:0")
    assert manifest["jpeg"] == {"quality": 75, "subsampling": "4:2:0"}
    recovered = []
    for k in range(1, 4):
        path = tmp_path / "test" / f"{k}.jpg"
        assert path.read_bytes() == jpeg_bytes(make_canvas(2, "test", k, size), quality=75, subsampling="4:2:0")
        with Image.open(path) as img:
            assert JpegImagePlugin.get_sampling(img) == 2  # 4:2:0
        _, layout = make_pair(2, "test", k, size)
        recovered.append(rgb_to_class(read(path)[:, size:]) == layout)
    assert np.mean(recovered) >= 0.97  # label recovery survives the real archive's compression


def test_photo_is_textured_not_a_colour_lookup() -> None:
    wall_colours = []
    for k in range(1, 9):
        photo, layout = make_pair(5, "train", k, SIZE)
        assert photo.shape == (SIZE, SIZE, 3) and photo.dtype == np.uint8
        wall = photo[layout == FACADE].astype(float)
        assert wall.std(0).mean() > 3  # texture, lighting and shadows within one class
        wall_colours.append(wall.mean(0))
        # a fixed colour per class would explain the photo perfectly; it must not
        means = np.zeros((NUM_CLASSES, 3))
        for c in np.unique(layout):
            means[c] = photo[layout == c].mean(0)
        assert np.abs(photo - means[layout]).mean() > 2
    assert np.ptp(np.array(wall_colours), axis=0).max() > 20  # buildings differ


def test_photo_depends_on_the_labels(dataset: tuple[Path, dict]) -> None:
    out, _ = dataset
    sums = {FACADE: np.zeros(3), WINDOW: np.zeros(3)}
    counts = dict.fromkeys(sums, 0)
    for k in range(1, 9):
        img = read(out / "train" / f"{k}.jpg")
        classes = rgb_to_class(img[:, SIZE:])
        for c in sums:
            sums[c] += img[:, :SIZE][classes == c].sum(0)
            counts[c] += (classes == c).sum()
    facade, window = (sums[c] / counts[c] for c in (FACADE, WINDOW))
    assert facade.mean() - window.mean() > 20  # windows are dark glass in a lit wall


def test_rerun_with_fewer_images_removes_stale_ones(tmp_path: Path) -> None:
    make_dataset(tmp_path, 3, 1, 1, 32, seed=0)
    (tmp_path / "train" / "keep.txt").write_text("not ours")
    manifest = make_dataset(tmp_path, 2, 1, 0, 32, seed=0)
    assert sorted(p.name for p in (tmp_path / "train").iterdir()) == ["1.jpg", "2.jpg", "keep.txt"]
    assert list((tmp_path / "test").iterdir()) == [] and manifest["counts"]["test"] == 0


@pytest.mark.parametrize("kwargs", [{"size": 16}, {"train": -1}, {"seed": -1}, {"jpeg_quality": 0},
                                    {"jpeg_quality": 101}, {"subsampling": "4:1:1"}])
def test_bad_arguments(tmp_path: Path, kwargs: dict) -> None:
    args = {"train": 1, "val": 1, "test": 1, "size": 32, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        make_dataset(tmp_path, **args)
