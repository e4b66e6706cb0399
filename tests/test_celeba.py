"""The local CelebA loader on a tiny folder written in exactly the real layout: six 178 x 218 JPEGs and a
``list_attr_celeba.txt`` with the 40 real attribute names; shapes, labels, crop and binarization, and one
clear error per kind of bad input."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from rbm_explorer.datasets import DatasetError, load_dataset
from rbm_explorer.datasets.celeba import otsu_thresholds

NAMES = ("5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair "
         "Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair "
         "Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face "
         "Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair "
         "Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young").split()
SMILING = [1, 1, -1, 1, -1, -1]
# (background, ink) grey levels per image: image 2 is the same drawing as image 1 in dim light.
LIGHTING = [(220, 40), (120, 20), (200, 60), (230, 90), (180, 30), (210, 50)]


def draw_face(background, ink, smiling):
    """A 178 x 218 picture: a dark ring and eyes inside the central square, and a dark strip across the top 15
    rows, which the centre crop (rows 20-197) must remove."""
    image = Image.new("RGB", (178, 218), (background,) * 3)
    draw = ImageDraw.Draw(image)
    shade = (ink,) * 3
    draw.rectangle((0, 0, 177, 14), fill=shade)
    draw.ellipse((39, 49, 139, 169), outline=shade, width=8)
    draw.ellipse((64, 84, 80, 100), fill=shade)
    draw.ellipse((98, 84, 114, 100), fill=shade)
    if smiling:
        draw.arc((64, 110, 114, 150), start=20, end=160, fill=shade, width=6)
    else:
        draw.line((66, 135, 112, 135), fill=shade, width=6)
    return image


def attribute_lines(values):
    """The real file's layout: count, names (with the trailing space), then 'file  -1  1 ...'."""
    lines = [str(len(values)), " ".join(NAMES) + " "]
    for i, row in enumerate(values):
        lines.append(f"{i + 1:06d}.jpg " + " ".join(f"{v:2d}" for v in row))
    return lines


@pytest.fixture
def celeba_root(tmp_path):
    root = tmp_path / "celeba"
    (root / "img_align_celeba").mkdir(parents=True)
    rng = np.random.default_rng(0)
    values = rng.choice([-1, 1], size=(6, len(NAMES)))
    values[:, NAMES.index("Smiling")] = SMILING
    for i, (background, ink) in enumerate(LIGHTING):
        face = draw_face(background, ink, SMILING[i] == 1)
        face.save(root / "img_align_celeba" / f"{i + 1:06d}.jpg", quality=95)
    (root / "list_attr_celeba.txt").write_text("\n".join(attribute_lines(values)) + "\n")
    return root, values


def test_loads_shapes_labels_and_all_attributes(celeba_root):
    root, values = celeba_root
    data = load_dataset("celeba", root=str(root))
    assert data.data.shape == (6, 64 * 64) and data.data.dtype == np.uint8
    assert set(np.unique(data.data)) == {0, 1}
    np.testing.assert_array_equal(data.labels, (np.array(SMILING) == 1).astype(int))
    assert data.label_names == ("not Smiling", "Smiling")
    assert list(data.attributes) == NAMES
    for j, name in enumerate(NAMES):
        np.testing.assert_array_equal(data.attributes[name], (values[:, j] == 1).astype(np.uint8))
    assert len(data.test) == 1 and len(data.train) == 5  # default: 20 % of the images loaded
    assert data.display.kind == "image" and data.display.shape == (64, 64)
    assert "licence" in data.info and data.info["options"]["threshold"] == "otsu"


def test_crop_resize_and_otsu_binarization(celeba_root):
    root, _ = celeba_root
    images = load_dataset("celeba", root=root, size=32).data.reshape(6, 32, 32)
    first = images[0]
    assert first[:2].sum() == 0  # the dark strip above the central 178 x 178 square is cropped away
    assert first[0, :].sum() == 0 and first[:, 0].sum() == 0 and first[-1, :].sum() == 0  # light border
    # the ring: ink on the ring, none at the centre of the forehead inside it
    ring_left = first[16, 6:10]
    assert ring_left.any() and first[10, 16] == 0
    eye_row = int((92 - 20) / 178 * 32)
    assert first[eye_row, int(72 / 178 * 32)] == 1 and first[eye_row, int(106 / 178 * 32)] == 1
    assert 0.05 < first.mean() < 0.4
    # per-image Otsu: the same drawing in dim light binarizes (almost) identically
    assert (images[0] != images[1]).mean() < 0.01


def test_fixed_threshold_depends_on_lighting(celeba_root):
    root, _ = celeba_root
    images = load_dataset("celeba", root=root, size=32, threshold=0.5).data.reshape(6, 32, 32)
    assert images[0].mean() < 0.4  # bright photo: only the drawing is darker than mid-grey
    assert images[1].mean() > 0.95  # dim photo (background 120 / 255): everything is "ink"


def test_limit_size_spin_and_n_test(celeba_root):
    root, _ = celeba_root
    data = load_dataset("celeba", root=root, attribute="Eyeglasses", size=16, limit=4, encoding="spin", n_test=2)
    assert data.data.shape == (4, 256) and data.data.dtype == np.int8 and set(np.unique(data.data)) <= {-1, 1}
    assert len(data.test) == 2 and len(np.union1d(data.train, data.test)) == 4
    assert data.label_names == ("not Eyeglasses", "Eyeglasses")


def test_otsu_threshold_splits_two_levels_and_leaves_flat_images_blank():
    two_level = np.where(np.arange(64).reshape(1, 8, 8) % 3 == 0, 30, 200).astype(np.uint8)
    flat = np.full((1, 8, 8), 128, np.uint8)
    t = otsu_thresholds(np.concatenate([two_level, flat]))
    assert 30 <= t[0] < 200 and t[1] == -1


def rewrite_line(root, number, edit):
    path = root / "list_attr_celeba.txt"
    lines = path.read_text().splitlines()
    lines[number - 1] = edit(lines[number - 1])
    path.write_text("\n".join(lines) + "\n")


def test_missing_root_and_folders(celeba_root, tmp_path):
    root, _ = celeba_root
    with pytest.raises(DatasetError, match="needs root"):
        load_dataset("celeba")
    with pytest.raises(DatasetError, match="root folder .* does not exist"):
        load_dataset("celeba", root=tmp_path / "nowhere")
    (root / "list_attr_celeba.txt").rename(tmp_path / "moved.txt")
    with pytest.raises(DatasetError, match="attribute file .*list_attr_celeba.txt does not exist"):
        load_dataset("celeba", root=root)
    (root / "img_align_celeba").rename(tmp_path / "moved_images")
    with pytest.raises(DatasetError, match="image folder .*img_align_celeba does not exist"):
        load_dataset("celeba", root=root)


@pytest.mark.parametrize("line,edit,message", [
    (5, lambda text: text.rsplit(" ", 1)[0], r"line 5: 40 columns, expected 41"),
    (3, lambda text: text + "  1", r"line 3: 42 columns, expected 41"),
    (2, lambda text: text.replace("Young", ""), r"line 3: 41 columns, expected 40"),
    (4, lambda text: text.replace("-1", " 0", 1) if "-1" in text else text.replace(" 1", " 0", 1),
     r"line 4: attribute values must be -1 or 1"),
    (1, lambda text: "7", r"line 1: says 7 images but the file lists 6"),
    (1, lambda text: "many", r"line 1: expected the number of images"),
])
def test_malformed_attribute_file(celeba_root, line, edit, message):
    root, _ = celeba_root
    rewrite_line(root, line, edit)
    with pytest.raises(DatasetError, match=message):
        load_dataset("celeba", root=root)


def test_unknown_attribute_lists_the_valid_ones(celeba_root):
    root, _ = celeba_root
    with pytest.raises(DatasetError, match="unknown CelebA attribute 'Smile'.*5_o_Clock_Shadow.*Smiling.*Young"):
        load_dataset("celeba", root=root, attribute="Smile")


def test_missing_and_unreadable_images(celeba_root):
    root, _ = celeba_root
    (root / "img_align_celeba" / "000005.jpg").unlink()
    with pytest.raises(DatasetError, match="000005.jpg is listed in list_attr_celeba.txt but missing"):
        load_dataset("celeba", root=root)
    assert load_dataset("celeba", root=root, limit=4).n_samples == 4  # the missing one is not asked for
    (root / "img_align_celeba" / "000002.jpg").write_bytes(b"not a jpeg at all")
    with pytest.raises(DatasetError, match="000002.jpg cannot be read"):
        load_dataset("celeba", root=root, limit=4)


@pytest.mark.parametrize("options,message", [
    (dict(threshold="mean"), "threshold must be 'otsu' or a number"),
    (dict(threshold=1.5), "threshold must be 'otsu' or a number"),
    (dict(encoding="grey"), "'binary' or 'spin'"),
    (dict(limit=0), "limit must be a positive integer"),
    (dict(n_test=6), r"n_test must be an integer in \[0, 6\)"),
    (dict(size=0), "size must be a positive integer"),
])
def test_bad_options(celeba_root, options, message):
    root, _ = celeba_root
    with pytest.raises(DatasetError, match=message):
        load_dataset("celeba", root=root, **options)
