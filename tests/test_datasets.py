"""Named datasets: the registry, config entries, Cityscapes from (synthetic) official zips."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from pix2pix_ablation.data.fetch import FetchError, fetch_dataset
from pix2pix_ablation.data.palette import CITYSCAPES, IGNORE, rgb_to_class
from pix2pix_ablation.data.registry import ARCHIVES, REGISTRY, configured_datasets, resolve_dataset

# --------------------------------------------------------------------------- registry


@pytest.mark.parametrize(
    "name, direction, palette",
    [("facades", "BtoA", "facades"), ("maps", "AtoB", None), ("edges2shoes", "AtoB", None),
     ("edges2handbags", "AtoB", None), ("night2day", "AtoB", None)],
)
def test_registry_names_resolve_to_the_reference_archives_and_directions(name, direction, palette):
    d = resolve_dataset(name, {"source": name})
    # the reference implementation's download script: <base>/<name>.tar.gz
    assert d.source == f"http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/{name}.tar.gz"
    assert d.source.startswith(ARCHIVES) and (d.direction, d.palette) == (direction, palette)


def test_facades_by_name_or_by_url_keeps_every_check():
    by_name = resolve_dataset("facades", {"source": "facades"})
    by_url = resolve_dataset("facades", {"source": f"{ARCHIVES}/facades.tar.gz"})
    assert by_name == by_url
    assert dict(by_name.expected_counts) == {"train": 400, "val": 100, "test": 106}
    assert by_name.expected_bytes == 30168306


def test_cityscapes_is_built_not_downloaded_and_has_its_palette():
    d = resolve_dataset("cityscapes", {"source": "cityscapes", "cityscapes": {"gtFine": "g.zip",
                                                                               "leftImg8bit": "l.zip"}})
    assert (d.source, d.direction, d.palette) == ("cityscapes", "BtoA", "cityscapes")
    assert dict(d.expected_counts) == {"train": 2975, "test": 500} and not REGISTRY["cityscapes"].archive
    assert CITYSCAPES.num_classes == 19 and CITYSCAPES.ignore == (0, 0, 0)


def test_an_entry_overrides_what_its_source_implies():
    d = resolve_dataset("maps", {"source": "maps", "direction": "BtoA", "expected_counts": {"train": 5}})
    assert (d.direction, dict(d.expected_counts)) == ("BtoA", {"train": 5})
    folder = resolve_dataset("mine", {"source": "/data/pairs"})
    assert (folder.direction, folder.palette) == (None, None)  # a folder: the defaults' direction, no FCN
    assert resolve_dataset("mine", {"source": "/data/pairs", "palette": "facades"}).palette == "facades"
    with pytest.raises(ValueError, match="palette 'nope'"):
        resolve_dataset("mine", {"source": "/data/pairs", "palette": "nope"})


def test_config_default_dataset_first_and_synthetic_styles():
    config = {
        "data": {"source": "synthetic", "synthetic": {"size": 32}},
        "datasets": {"edges": {"source": "synthetic", "synthetic": {"style": "edges"}},
                     "maps": {"source": "maps"}},
    }
    found = configured_datasets(config)
    assert list(found) == ["facades", "edges", "maps"]
    assert (found["facades"].palette, found["facades"].direction) == ("facades", "BtoA")
    assert (found["edges"].palette, found["edges"].direction) == (None, "AtoB")
    # the default entry of an earlier config (a local archive) keeps the facades palette
    assert configured_datasets({"data": {"source": "/archive/facades.tar.gz"}})["facades"].palette == "facades"
    with pytest.raises(ValueError, match="datasets.facades"):
        configured_datasets({"data": {"source": "facades"}, "datasets": {"facades": {"source": "maps"}}})


# ------------------------------------------------------------------------- cityscapes

# (label id, what it becomes, from the official table: test_cityscapes_labels.py): road,
# car, person are training classes; 0 (unlabeled) and 4 (static) are ignored
IDS = {7: 0, 26: 13, 24: 11, 0: IGNORE, 4: IGNORE}
FRAMES = {"train": [("aachen", "aachen_000000_000019"), ("bremen", "bremen_000001_000019"),
                    ("bremen", "bremen_000002_000019")],
          "val": [("lindau", "lindau_000000_000019"), ("munster", "munster_000001_000019")]}


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def _label_ids(k: int) -> np.ndarray:
    """A 64 x 128 labelIds image: five vertical bands of the ids in IDS, shifted by k."""
    ids = np.array(list(IDS), np.uint8)
    return np.repeat(np.roll(ids, k), [26, 26, 26, 25, 25])[None, :].repeat(64, 0)


def _official_zips(root):
    """gtFine_trainvaltest.zip and leftImg8bit_trainvaltest.zip in the official folder layout (small)."""
    gt, left = root / "gtFine_trainvaltest.zip", root / "leftImg8bit_trainvaltest.zip"
    rng = np.random.default_rng(0)
    truth = {}
    with zipfile.ZipFile(gt, "w") as g, zipfile.ZipFile(left, "w") as p:
        g.writestr("README", "gtFine")
        for split, frames in FRAMES.items():
            for k, (city, frame) in enumerate(frames):
                ids = _label_ids(k)
                g.writestr(f"gtFine/{split}/{city}/{frame}_gtFine_labelIds.png", _png(ids))
                g.writestr(f"gtFine/{split}/{city}/{frame}_gtFine_color.png", _png(np.zeros((64, 128, 3), np.uint8)))
                g.writestr(f"gtFine/{split}/{city}/{frame}_gtFine_polygons.json", "{}")
                photo = rng.integers(0, 256, (64, 128, 3), dtype=np.uint8)
                p.writestr(f"leftImg8bit/{split}/{city}/{frame}_leftImg8bit.png", _png(photo))
                truth[(split, frame)] = (ids, photo)
    return gt, left, truth


def test_cityscapes_pairs_and_classes_from_the_official_zips(tmp_path):
    gt, left, truth = _official_zips(tmp_path)
    dest, manifest_path = tmp_path / "data" / "cityscapes", tmp_path / "data" / "cityscapes.manifest.json"
    manifest = fetch_dataset("cityscapes", dest, manifest_path, expected_counts={"train": 3, "test": 2},
                             cityscapes={"gtFine": str(gt), "leftImg8bit": str(left), "size": 32})
    # official train -> train, official val -> test, and val/ a copy of test/ (no labelled test split)
    assert manifest["counts"] == {"train": 3, "val": 2, "test": 2} and manifest["aliases"] == {"val": "test"}
    assert json.loads(manifest_path.read_text()) == manifest
    assert sorted(p.name for p in (dest / "test").iterdir()) == sorted(p.name for p in (dest / "val").iterdir())
    for (split, frame), (ids, photo) in truth.items():
        ours = "train" if split == "train" else "test"
        pair = np.asarray(Image.open(dest / ours / f"{frame}.png"))
        assert pair.shape == (32, 64, 3)
        # left: the photo resized (bicubic) to 32 x 32
        expected_photo = np.asarray(Image.fromarray(photo).resize((32, 32), Image.BICUBIC))
        assert np.array_equal(pair[:, :32], expected_photo)
        # right: the label map, nearest-neighbour, whose colours read back as the train ids
        classes = rgb_to_class(pair[:, 32:], CITYSCAPES)
        nearest = np.asarray(Image.fromarray(ids).resize((32, 32), Image.NEAREST))
        assert np.array_equal(classes, np.vectorize(IDS.get)(nearest))
        assert set(np.unique(classes)) == {0, 13, 11, IGNORE}  # road, car, person, ignore


def test_cityscapes_with_a_missing_label_map_names_the_frame(tmp_path):
    gt, left, _ = _official_zips(tmp_path)
    with zipfile.ZipFile(left, "a") as p:
        p.writestr("leftImg8bit/train/zurich/zurich_000000_000019_leftImg8bit.png",
                   _png(np.zeros((64, 128, 3), np.uint8)))
    with pytest.raises(FetchError, match="train/zurich_000000_000019: no label map"):
        fetch_dataset("cityscapes", tmp_path / "d", tmp_path / "m.json",
                      cityscapes={"gtFine": str(gt), "leftImg8bit": str(left), "size": 32})
    assert not (tmp_path / "d").exists() and not (tmp_path / "m.json").exists()
    with pytest.raises(FetchError, match="give the official archives"):
        fetch_dataset("cityscapes", tmp_path / "d", tmp_path / "m.json", cityscapes={"gtFine": str(gt)})


def test_a_folder_without_test_gets_val_as_test_unless_test_is_expected(tmp_path):
    from pix2pix_ablation.data.synthetic import make_dataset

    make_dataset(tmp_path / "src", train=3, val=2, test=0, size=32, seed=0)
    (tmp_path / "src" / "test").rmdir()
    manifest = fetch_dataset(str(tmp_path / "src"), tmp_path / "a", tmp_path / "a.json")
    assert manifest["aliases"] == {"test": "val"} and manifest["counts"] == {"train": 3, "val": 2, "test": 2}
    with pytest.raises(FetchError, match="split test/ is missing"):
        fetch_dataset(str(tmp_path / "src"), tmp_path / "b", tmp_path / "b.json", expected_counts={"test": 2})


def test_ignore_pixels_are_neither_learnt_nor_scored():
    from pix2pix_ablation.metrics.confusion import confusion_matrix
    from pix2pix_ablation.metrics.fcn_validity import majority_scores
    from pix2pix_ablation.metrics.segmentation import train_segmenter

    rng = np.random.default_rng(0)
    photos = rng.integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)
    maps = np.full((4, 16, 16), IGNORE, np.int64)
    maps[:, :4] = 2  # the only labelled pixels: class 2 of 3
    model = train_segmenter(photos, maps, epochs=1, batch_size=2, num_classes=3)
    assert model.num_classes == 3
    cm = confusion_matrix(np.zeros_like(maps), maps, 3)
    assert cm.sum() == (maps != IGNORE).sum() == cm[2, 0]
    # the majority class is the most common LABELLED class, not "ignore"
    assert majority_scores(maps, maps, 3)["per_pixel_acc"] == pytest.approx(1.0)


# --------------------------------------------------------------------------- generated choices


def test_dataset_choices_schema_and_registry_table_are_generated_from_the_code():
    """workflow/schemas/datasets.schema.yaml and docs/datasets.md's registry table come from
    the registry, the palettes and the synthetic styles; this fails when they drift."""
    from pix2pix_ablation.config.schema import DOCS, SCHEMA_DIR
    from pix2pix_ablation.data import choices

    assert (SCHEMA_DIR / choices.SCHEMA_FILE).read_text() == choices.dataset_choices_text(), \
        "regenerate: pix2pix-ablation knobs --write"
    doc = (DOCS / "datasets.md").read_text()
    start = doc.index(choices.TABLE_START) + len(choices.TABLE_START)
    assert doc[start:doc.index(choices.TABLE_END)] == choices.registry_table(), \
        "regenerate: pix2pix-ablation knobs --write"


def test_a_new_palette_or_registry_name_reaches_the_config_schema(monkeypatch, tmp_path):
    from pix2pix_ablation.config.safe_yaml import load_yaml_file
    from pix2pix_ablation.config.schema import SCHEMA_DIR, SchemaError, validate
    from pix2pix_ablation.data import choices

    schema = choices.dataset_choices_schema()["$defs"]
    assert schema["palette"]["enum"] == ["facades", "cityscapes", None]
    monkeypatch.setitem(choices.PALETTES, "ade20k", choices.PALETTES["facades"])
    monkeypatch.setitem(choices.REGISTRY, "ade20k_pairs", choices.REGISTRY["maps"])
    assert "ade20k" in choices.dataset_choices_schema()["$defs"]["palette"]["enum"]
    assert "ade20k_pairs" in choices.dataset_choices_schema()["$defs"]["source"]["description"]
    assert "`ade20k_pairs`" in choices.registry_table()
    assert (SCHEMA_DIR / choices.SCHEMA_FILE).read_text() != choices.dataset_choices_text()

    # the config schema reads its choices from the generated file, not a copy of its own
    for name in ("config.schema.yaml", "knobs.schema.yaml"):
        (tmp_path / name).write_text((SCHEMA_DIR / name).read_text())
    (tmp_path / choices.SCHEMA_FILE).write_text(choices.dataset_choices_text())
    config = {**load_yaml_file(SCHEMA_DIR.parents[1] / "config" / "config.yaml"),
              "datasets": {"x": {"source": "synthetic", "palette": "ade20k"}}}
    validate(config, tmp_path / "config.schema.yaml")
    with pytest.raises(SchemaError, match=r"datasets\.x\.palette: 'ade20k' is not one of"):
        validate(config, SCHEMA_DIR / "config.schema.yaml")
