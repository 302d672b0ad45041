"""The aligned-pairs dataset: loading, direction, paired augmentation, bad input."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from pix2pix_ablation.config.experiment import ExperimentConfig
from pix2pix_ablation.data.loader import (
    DataError,
    load_split,
    sample_batch,
    save_png,
    to_uint8_image,
    train_load_size,
)

RED, BLUE = (255, 0, 0), (0, 0, 255)


def write_pair(path: Path, left: np.ndarray, right: np.ndarray, fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate([left, right], axis=1)).save(path, format=fmt)
    return path


def solid(colour: tuple[int, int, int], size: int = 8) -> np.ndarray:
    return np.broadcast_to(np.array(colour, np.uint8), (size, size, 3)).copy()


def noise(size: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def cfg(**changes) -> ExperimentConfig:
    base = {"load_size": 12, "crop_size": 8, "jitter": True, "flip": True, "num_downs": 3, "patch": 1}
    return ExperimentConfig(**{**base, **changes}).validate()


def twin_split(tmp_path: Path, n: int = 3, size: int = 12) -> Path:
    """Pairs whose two halves are the same noise image (PNG: lossless)."""
    for i in range(n):
        img = noise(size, i)
        write_pair(tmp_path / "train" / f"{i}.png", img, img)
    return tmp_path


# ------------------------------------------------------------------------ loading
def test_direction_swaps_halves(tmp_path: Path) -> None:
    write_pair(tmp_path / "train" / "1.png", solid(RED), solid(BLUE))
    a2b = load_split(tmp_path, "train", 4, "AtoB")
    b2a = load_split(tmp_path, "train", 4, "BtoA")
    assert a2b.inputs.shape == (1, 3, 4, 4) and a2b.inputs.dtype == torch.uint8
    assert a2b.inputs[0, :, 0, 0].tolist() == list(RED)
    assert a2b.targets[0, :, 0, 0].tolist() == list(BLUE)
    assert torch.equal(b2a.inputs, a2b.targets) and torch.equal(b2a.targets, a2b.inputs)
    assert a2b.names == ["1"] and a2b.source == tmp_path / "train"


def test_sorted_names_case_insensitive_extensions_hidden_ignored(tmp_path: Path) -> None:
    for name, fmt in (("b.png", None), ("a.PNG", "PNG"), ("c.JPEG", "JPEG"), ("d.jpg", None)):
        write_pair(tmp_path / "val" / name, solid(RED), solid(BLUE), fmt)
    (tmp_path / "val" / ".DS_Store").write_bytes(b"\0junk")
    images = load_split(tmp_path, "val", 6, "BtoA")
    assert images.names == ["a", "b", "c", "d"]
    assert images.inputs.shape == (4, 3, 6, 6) and len(images) == 4


def test_resize_is_bicubic_like_the_reference(tmp_path: Path) -> None:
    left = noise(16, 1)
    write_pair(tmp_path / "train" / "x.png", left, noise(16, 2))
    images = load_split(tmp_path, "train", 10, "AtoB")
    expected = np.asarray(Image.fromarray(left).resize((10, 10), Image.Resampling.BICUBIC))
    assert np.array_equal(images.inputs[0].permute(1, 2, 0).numpy(), expected)


def test_train_load_size_follows_jitter() -> None:
    assert train_load_size(cfg()) == 12
    assert train_load_size(cfg(jitter=False)) == 8


# -------------------------------------------------------------------- augmentation
def find_window(source: torch.Tensor, crop: torch.Tensor) -> tuple[int, int, bool]:
    """The (row, col, flipped) of ``crop`` inside ``source`` (both CHW uint8)."""
    size, c = source.shape[-1], crop.shape[-1]
    hits = [
        (y, x, f)
        for y in range(size - c + 1)
        for x in range(size - c + 1)
        for f in (False, True)
        if torch.equal(source[:, y : y + c, x : x + c].flip(-1) if f else source[:, y : y + c, x : x + c], crop)
    ]
    assert len(hits) == 1, "crop is not a unique window of the source"
    return hits[0]


def as_uint8(x: torch.Tensor) -> torch.Tensor:
    return ((x + 1) * 127.5).round().to(torch.uint8)


def test_same_crop_and_flip_for_input_and_target(tmp_path: Path) -> None:
    images = load_split(twin_split(tmp_path), "train", 12, "AtoB")
    gen = torch.Generator().manual_seed(0)
    windows = set()
    for _ in range(40):
        idx = torch.tensor([0, 1, 2, 1])
        inp, tgt = sample_batch(images, idx, cfg(), gen, "cpu")
        assert inp.shape == tgt.shape == (4, 3, 8, 8) and inp.dtype == torch.float32
        assert torch.equal(inp, tgt)
        for b in range(4):
            windows.add(find_window(images.inputs[idx[b]], as_uint8(inp[b])))
    assert len(windows) > 20  # per-sample offsets really vary (25 offsets x 2 flips possible)
    assert {f for _, _, f in windows} == {False, True}
    assert {y for y, _, _ in windows} == set(range(5)) and {x for _, x, _ in windows} == set(range(5))


def test_augmentation_does_not_mix_up_halves(tmp_path: Path) -> None:
    # different halves: the target window must still be the input's window
    for i in range(2):
        write_pair(tmp_path / "train" / f"{i}.png", noise(12, i), noise(12, 10 + i))
    images = load_split(tmp_path, "train", 12, "BtoA")
    gen = torch.Generator().manual_seed(3)
    for _ in range(10):
        idx = torch.tensor([1, 0])
        inp, tgt = sample_batch(images, idx, cfg(), gen, "cpu")
        for b in range(2):
            where = find_window(images.inputs[idx[b]], as_uint8(inp[b]))
            assert where == find_window(images.targets[idx[b]], as_uint8(tgt[b]))


def test_reproducible_for_the_same_generator_seed(tmp_path: Path) -> None:
    images = load_split(twin_split(tmp_path), "train", 12, "AtoB")
    idx = torch.tensor([0, 1, 2])

    def draws(seed: int) -> list[torch.Tensor]:
        gen = torch.Generator().manual_seed(seed)
        return [sample_batch(images, idx, cfg(), gen, "cpu")[0] for _ in range(5)]

    first, again, other = draws(7), draws(7), draws(8)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(first, other, strict=True))


def test_flip_off_never_flips_and_keeps_the_crop_stream(tmp_path: Path) -> None:
    images = load_split(twin_split(tmp_path), "train", 12, "AtoB")
    on, off = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    for _ in range(20):
        a, _ = sample_batch(images, torch.tensor([2]), cfg(), on, "cpu")
        b, _ = sample_batch(images, torch.tensor([2]), cfg(flip=False), off, "cpu")
        ya, xa, _ = find_window(images.inputs[2], as_uint8(a[0]))
        yb, xb, flipped = find_window(images.inputs[2], as_uint8(b[0]))
        assert not flipped and (ya, xa) == (yb, xb)


def test_jitter_off_uses_the_whole_image_or_its_centre(tmp_path: Path) -> None:
    gen = torch.Generator().manual_seed(0)
    at_crop = load_split(twin_split(tmp_path), "train", 8, "AtoB")  # train_load_size without jitter
    larger = load_split(tmp_path, "train", 12, "AtoB")
    seen_flip = False
    for _ in range(10):
        inp, _ = sample_batch(at_crop, torch.tensor([0]), cfg(jitter=False), gen, "cpu")
        y, x, f = find_window(at_crop.inputs[0], as_uint8(inp[0]))
        assert (y, x) == (0, 0)
        seen_flip |= f
        inp, _ = sample_batch(larger, torch.tensor([0]), cfg(jitter=False, flip=False), gen, "cpu")
        assert find_window(larger.inputs[0], as_uint8(inp[0])) == (2, 2, False)
    assert seen_flip


def test_values_are_normalised_to_minus_one_one(tmp_path: Path) -> None:
    black, white = solid((0, 0, 0), 12), solid((255, 255, 255), 12)
    write_pair(tmp_path / "train" / "0.png", black, white)
    images = load_split(tmp_path, "train", 12, "AtoB")
    inp, tgt = sample_batch(images, torch.tensor([0]), cfg(), torch.Generator().manual_seed(0), "cpu")
    assert torch.all(inp == -1) and torch.all(tgt == 1)


def test_crop_larger_than_images_is_an_error(tmp_path: Path) -> None:
    images = load_split(twin_split(tmp_path, n=1), "train", 6, "AtoB")
    with pytest.raises(DataError, match="crop_size"):
        sample_batch(images, torch.tensor([0]), cfg(), torch.Generator(), "cpu")


# -------------------------------------------------------------------------- output
def test_to_uint8_roundtrip_and_save_png(tmp_path: Path) -> None:
    img = noise(8, 4)
    t = torch.from_numpy(img).permute(2, 0, 1).float() / 127.5 - 1
    out = to_uint8_image(t)
    assert out.dtype == np.uint8 and out.shape == (8, 8, 3) and np.array_equal(out, img)
    assert to_uint8_image(torch.full((3, 2, 2), 5.0)).max() == 255  # clamped, no wrap-around
    save_png(tmp_path / "out" / "a.png", out)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / "a.png")), img)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a.png"]  # no temp file left


# --------------------------------------------------------------------- bad input
def expect_error(root: Path, offender: Path, pattern: str = "", size: int = 4) -> None:
    with pytest.raises(DataError, match=re.escape(str(offender))) as info:
        load_split(root, "train", size, "BtoA")
    assert re.search(pattern, str(info.value)), str(info.value)


@pytest.fixture
def good(tmp_path: Path) -> Path:
    write_pair(tmp_path / "train" / "1.jpg", solid(RED), solid(BLUE))
    return tmp_path


def test_non_image_file_is_named(good: Path) -> None:
    notes = good / "train" / "notes.txt"
    notes.write_text("hello")
    expect_error(good, notes, "not an image file")


def test_file_with_image_extension_but_not_an_image(good: Path) -> None:
    fake = good / "train" / "2.jpg"
    fake.write_text("not really a jpeg")
    expect_error(good, fake, "not a readable image")


def test_truncated_jpeg(good: Path) -> None:
    path = write_pair(good / "train" / "2.jpg", noise(64, 0), noise(64, 1))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    expect_error(good, path, "cannot decode")


def test_odd_width(good: Path) -> None:
    path = good / "train" / "2.png"
    Image.fromarray(noise(8, 0)[:, :7]).save(path)
    expect_error(good, path, "odd width 7")


def test_width_not_twice_height(good: Path) -> None:
    path = good / "train" / "2.png"
    Image.new("RGB", (12, 4)).save(path)
    expect_error(good, path, "12x4")


def test_grayscale(good: Path) -> None:
    path = good / "train" / "2.png"
    Image.new("L", (16, 8)).save(path)
    expect_error(good, path, "grayscale")


def test_rgba_is_not_rgb(good: Path) -> None:
    path = good / "train" / "2.png"
    Image.new("RGBA", (16, 8)).save(path)
    expect_error(good, path, "RGBA")


def test_empty_split(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / ".DS_Store").write_bytes(b"")
    expect_error(tmp_path, tmp_path / "train", "empty split")


def test_missing_split(tmp_path: Path) -> None:
    expect_error(tmp_path, tmp_path / "train", "does not exist")


def test_nested_folder_and_duplicate_names(good: Path) -> None:
    sub = good / "train" / "more"
    sub.mkdir()
    expect_error(good, sub, "unexpected folder")
    sub.rmdir()
    dup = write_pair(good / "train" / "1.png", solid(RED), solid(BLUE))
    expect_error(good, dup, "unique")


def test_error_is_a_value_error() -> None:
    assert issubclass(DataError, ValueError)
