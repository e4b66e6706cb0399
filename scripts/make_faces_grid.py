"""Draw ``assets/faces_grid.png``: procedural faces in four labelled blocks, smiling or not (rows) by
eyeglasses or not (columns), so a reader can check at a glance that the faces read as faces and the two
attributes are visible. The other attributes (bangs, beard, hat) and all nuisances vary freely in every block.

Faces are taken in generation order from ``generate_faces(seed=...)``, not hand-picked. Ink is drawn black on
white, scaled up with nearest-neighbour so single pixels stay sharp.

Run from the repository root: ``python scripts/make_faces_grid.py`` (``--size 32 --out /tmp/f.png`` for the
small faces).
"""

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from rbm_explorer.datasets.faces import generate_faces

ROOT = Path(__file__).resolve().parent.parent


def block_faces(images, attributes, smiling, glasses, count):
    """The first ``count`` faces with the given smiling and eyeglasses values."""
    chosen = np.flatnonzero((attributes["smiling"] == smiling) & (attributes["eyeglasses"] == glasses))
    return images[chosen[:count]]


def faces_grid(size=64, scale=2, rows=3, cols=4, seed=0):
    images, attributes = generate_faces(400, size=size, seed=seed)
    cell = size * scale
    gap, margin, header, left = 4, 16, 28, 110
    block_w, block_h = cols * (cell + gap) - gap, rows * (cell + gap) - gap
    width = left + 2 * block_w + margin + margin
    height = header + 2 * block_h + margin + margin
    canvas = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=16)
    for c, glasses in enumerate((0, 1)):
        x0 = left + c * (block_w + margin)
        draw.text((x0 + block_w // 2, header // 2), "eyeglasses" if glasses else "no eyeglasses", fill=0,
                  font=font, anchor="mm")
    for r, smiling in enumerate((1, 0)):
        y0 = header + r * (block_h + margin)
        draw.text((left // 2, y0 + block_h // 2), "smiling" if smiling else "not smiling", fill=0, font=font,
                  anchor="mm")
        for c, glasses in enumerate((0, 1)):
            x0 = left + c * (block_w + margin)
            draw.rectangle((x0 - 2, y0 - 2, x0 + block_w + 1, y0 + block_h + 1), outline=160)
            for i, face in enumerate(block_faces(images, attributes, smiling, glasses, rows * cols)):
                tile = Image.fromarray(255 * (1 - face)).resize((cell, cell), Image.NEAREST)
                canvas.paste(tile, (x0 + (i % cols) * (cell + gap), y0 + (i // cols) * (cell + gap)))
    return canvas


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64, choices=(64, 32))
    parser.add_argument("--scale", type=int, default=None, help="pixel magnification (default 2 for 64, 4 for 32)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "assets" / "faces_grid.png")
    args = parser.parse_args(argv)
    scale = args.scale or (2 if args.size == 64 else 4)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    faces_grid(args.size, scale, seed=args.seed).save(args.out, optimize=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
