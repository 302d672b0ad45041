"""The Cityscapes label table, pinned against the official one (cityscapesScripts,
``cityscapesscripts/helpers/labels.py``), written out here by hand and never read from the
code under test: every label id's train id, and each training class's name and colour.
"""

import numpy as np
from PIL import Image

from pix2pix_ablation.data.cityscapes import LABEL_TO_TRAIN_ID, prepare_cityscapes
from pix2pix_ablation.data.palette import CITYSCAPES, IGNORE, rgb_to_class

# label id: (name, train id, colour); train id 255 = not evaluated ("ignore"). The
# official table also lists 'license plate' with id -1, which never occurs in a labelIds image.
OFFICIAL = {
    0: ("unlabeled", 255, (0, 0, 0)),
    1: ("ego vehicle", 255, (0, 0, 0)),
    2: ("rectification border", 255, (0, 0, 0)),
    3: ("out of roi", 255, (0, 0, 0)),
    4: ("static", 255, (0, 0, 0)),
    5: ("dynamic", 255, (111, 74, 0)),
    6: ("ground", 255, (81, 0, 81)),
    7: ("road", 0, (128, 64, 128)),
    8: ("sidewalk", 1, (244, 35, 232)),
    9: ("parking", 255, (250, 170, 160)),
    10: ("rail track", 255, (230, 150, 140)),
    11: ("building", 2, (70, 70, 70)),
    12: ("wall", 3, (102, 102, 156)),
    13: ("fence", 4, (190, 153, 153)),
    14: ("guard rail", 255, (180, 165, 180)),
    15: ("bridge", 255, (150, 100, 100)),
    16: ("tunnel", 255, (150, 120, 90)),
    17: ("pole", 5, (153, 153, 153)),
    18: ("polegroup", 255, (153, 153, 153)),
    19: ("traffic light", 6, (250, 170, 30)),
    20: ("traffic sign", 7, (220, 220, 0)),
    21: ("vegetation", 8, (107, 142, 35)),
    22: ("terrain", 9, (152, 251, 152)),
    23: ("sky", 10, (70, 130, 180)),
    24: ("person", 11, (220, 20, 60)),
    25: ("rider", 12, (255, 0, 0)),
    26: ("car", 13, (0, 0, 142)),
    27: ("truck", 14, (0, 0, 70)),
    28: ("bus", 15, (0, 60, 100)),
    29: ("caravan", 255, (0, 0, 90)),
    30: ("trailer", 255, (0, 0, 110)),
    31: ("train", 16, (0, 80, 100)),
    32: ("motorcycle", 17, (0, 0, 230)),
    33: ("bicycle", 18, (119, 11, 32)),
}
# the 19 evaluated classes by train id, as the benchmark lists them
TRAINING_CLASSES = ("road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign",
                    "vegetation", "terrain", "sky", "person", "rider", "car", "truck", "bus", "train",
                    "motorcycle", "bicycle")
IGNORE_COLOUR = (0, 0, 0)  # 'unlabeled', the colour the ignored ids are drawn in


def test_the_table_as_written_here_is_the_benchmarks_19_classes():
    """The literal table itself, in case of a typo in it."""
    assert len(OFFICIAL) == 34 and sorted(OFFICIAL) == list(range(34))
    train = sorted((tid, name) for name, tid, _ in OFFICIAL.values() if tid != 255)
    assert [tid for tid, _ in train] == list(range(19)) and tuple(n for _, n in train) == TRAINING_CLASSES


def test_every_label_id_gets_its_official_train_id():
    for label_id in range(256):  # a labelIds PNG is uint8; ids 34-255 do not exist and are ignored
        official = OFFICIAL[label_id][1] if label_id in OFFICIAL else 255
        ours = LABEL_TO_TRAIN_ID.get(label_id, IGNORE)
        assert ours == (IGNORE if official == 255 else official), \
            f"label id {label_id} ({OFFICIAL.get(label_id, ('unused',))[0]}): train id {ours}, official {official}"


def test_the_palette_is_the_official_classes_in_train_id_order_with_their_colours():
    by_train_id = {tid: (name, colour) for name, tid, colour in OFFICIAL.values() if tid != 255}
    assert CITYSCAPES.classes == tuple(by_train_id[t] for t in range(19))
    assert CITYSCAPES.ignore == IGNORE_COLOUR


def test_a_label_map_with_every_id_is_drawn_in_the_official_colours_and_reads_back(tmp_path):
    """Through the public preparation: one column per label id 0-33, at its own size (no resampling)."""
    size = len(OFFICIAL)
    ids = np.tile(np.arange(size, dtype=np.uint8), (size, 1))
    frame = "aachen_000000_000019"
    for folder, name, image in (("gtFine", "gtFine_labelIds", ids),
                                ("leftImg8bit", "leftImg8bit", np.zeros((size, size, 3), np.uint8))):
        path = tmp_path / folder / folder / "val" / "aachen" / f"{frame}_{name}.png"
        path.parent.mkdir(parents=True)
        Image.fromarray(image).save(path)
    assert prepare_cityscapes(tmp_path / "gtFine", tmp_path / "leftImg8bit", tmp_path / "out", size=size) == \
        {"train": 0, "test": 1}
    label = np.asarray(Image.open(tmp_path / "out" / "test" / f"{frame}.png"))[:, size:]
    for label_id, (name, train_id, colour) in OFFICIAL.items():
        expected = IGNORE_COLOUR if train_id == 255 else colour
        assert (label[:, label_id] == expected).all(), f"label id {label_id} ({name}) drawn {label[0, label_id]}"
    classes = rgb_to_class(label, CITYSCAPES)[0]
    assert classes.tolist() == [IGNORE if tid == 255 else tid for _, tid, _ in OFFICIAL.values()]
