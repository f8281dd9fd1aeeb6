"""Make the "real-world" digits of lab 3: synthetic photographs of digits on paper, byte for byte.

    python assets/data/digit-photos/make_photos.py                      # writes digit_photos.npz here
    python assets/data/digit-photos/make_photos.py --check              # remakes it; exit 1 unless it matches
    python assets/data/digit-photos/make_photos.py --preview sheet.png  # also draws the first 100 photos

Each photo is one digit rendered from a font of a Debian package (handwriting-style and ordinary
fonts, see FONTS), then put through a simulated camera in NumPy: a random size, rotation and
perspective, dark ink on light paper with paper texture and uneven pen pressure, uneven lighting
(a gradient, vignetting, sometimes a soft shadow), optical blur and sensor noise, quantised to
uint8 grey levels. No photograph and no person's handwriting went in; no model was trained on
these images.

Everything random comes from NumPy generators seeded with ``(SEED, photo index)``, so the file
is the same on every run, given the same font files and the same FreeType (which Pillow bundles):
see SOURCE.md. The fonts are installed with
``apt-get install -y fonts-dkg-handwriting fonts-breip fonts-rufscript fonts-humor-sans
fonts-dancingscript fonts-comic-neue fonts-dejavu-core fonts-liberation2``.

The .npz holds (the loader is ``dllab.data.digit_photos``):
    pixels  (P,) uint8      every photo's grey levels, row-major, one photo after the other
    shapes  (N, 2) int16    each photo's (height, width); photo i is the next h*w pixels
    labels  (N,) uint8      the digit, 0-9
    fonts   (N,) uint8      index into font_names
    font_names (F,) str     the font file names
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
from pathlib import Path

import numpy as np

from dllab.data.files import npz_bytes, write_or_check

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "digit_photos.npz"
SEED = 2027
REPEATS = 5                # photos per (digit, font): 10 digits x 12 fonts x 5 = 600 photos
SIZE_RANGE = (40, 64)      # height and width of a photo, drawn independently, inclusive
RENDER_PX = 160            # font size of the high-resolution glyph the camera looks at
SUPERSAMPLE = 4            # sub-pixels per photo pixel and axis when the glyph is resampled
FREETYPE = "2.14.3"        # the FreeType in Pillow 13.0.0's wheel, which drew the shipped glyphs

# (Debian package, font file, SHA-256 of the font file the shipped set was made from)
FONTS = [
    ("fonts-dkg-handwriting", "/usr/share/fonts/truetype/fifthhorseman/dkg.ttf",
     "93eb07f57b84f04fa975ebf49ecec43d9b2c85834a9b63864072c6b993efd131"),
    ("fonts-dkg-handwriting", "/usr/share/fonts/truetype/fifthhorseman/dkgIt.ttf",
     "911843f094cbe0508dd5049e3e610020d97b395cdaa8ed088f0f3af8e3a6e661"),
    ("fonts-breip", "/usr/share/fonts/truetype/breip/Breip.ttf",
     "cded2aeeeb7d35baa8aa5b57df35a25836910498271d3d2eec502f6aa7033eb7"),
    ("fonts-rufscript", "/usr/share/fonts/truetype/rufscript/Rufscript010.ttf",
     "99b16515f19ab35d18049235797b0dbe3ec73535d455994442b206c96405050f"),
    ("fonts-humor-sans", "/usr/share/fonts/truetype/humor-sans/Humor-Sans.ttf",
     "2ded6a27448c9ed30aaff177744e2bcf1e52e0aab018b2a8be64565df633318f"),
    ("fonts-dancingscript", "/usr/share/fonts/opentype/dancingscript/DancingScript-Regular.otf",
     "38178945aaefdea573f4998d8b984985aaebb95964da337b23e77e682d7d3d17"),
    ("fonts-comic-neue", "/usr/share/fonts/opentype/comic-neue/ComicNeue-Regular.otf",
     "2728ee8f303e31934e62bf27b044fd7657b0613412d51f7444db1078cc3a7cb2"),
    ("fonts-comic-neue", "/usr/share/fonts/opentype/comic-neue/ComicNeue-Italic.otf",
     "e5b8b4c03b0a93b058038401f722074cef03da066a8653d92436e8ee597cbc53"),
    ("fonts-dejavu-core", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
     "abdc775b21b1bc470d50c97e790d276f2054b7504e56e5bd3e64f48d68582322"),
    ("fonts-dejavu-core", "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
     "13e61509f5c81d7c3132810f4f903e3523df89c802bf6e0674621e8f659cdfe1"),
    ("fonts-liberation2", "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
     "8d91388f1d3604b3b8ae0e3ee2d140e50cd6122f9214514f4aca772540a4076d"),
    ("fonts-liberation2", "/usr/share/fonts/truetype/liberation2/LiberationSerif-Italic.ttf",
     "c1830c433ab41379f1139fac388989d37c9f08c81e1bd643efdcc7946db30753"),
]
APT_PACKAGES = sorted({package for package, _, _ in FONTS})


class MissingFonts(RuntimeError):
    """A font file of FONTS is not installed; the message gives the apt-get command."""


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def check_fonts():
    """What differs from the fonts and FreeType the shipped set was made with: a list of messages.

    Raises MissingFonts when a file is absent (nothing can be rendered without it).
    """
    missing = [(package, path) for package, path, _ in FONTS if not Path(path).is_file()]
    if missing:
        names = ", ".join(f"{path} ({package})" for package, path in missing)
        raise MissingFonts(f"font files not found: {names}. Install them as root with "
                           f"`apt-get install -y {' '.join(APT_PACKAGES)}`")
    changed = [f"{path}: sha256 {sha256_bytes(Path(path).read_bytes())}, the set was made from {digest}"
               for _, path, digest in FONTS if sha256_bytes(Path(path).read_bytes()) != digest]
    from PIL import features

    freetype = features.version("freetype2")
    if freetype != FREETYPE:
        changed.append(f"Pillow renders with FreeType {freetype}, the set was made with {FREETYPE}")
    return changed


# ---------------------------------------------------------------- the glyph

def stroke_thickness(mask):
    """Mean stroke thickness of a glyph mask in pixels: 2 * area / perimeter (a long thin stroke)."""
    ink = mask > 0.5
    area = ink.sum()
    # boundary pixels: ink pixels with a 4-neighbour that is not ink
    padded = np.pad(ink, 1)
    interior = (padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:])
    perimeter = (ink & ~interior).sum()
    return 2.0 * area / max(perimeter, 1)


def render_glyph(font_path, digit, stroke=0):
    """The digit drawn white on black at RENDER_PX, cropped to its ink: float64 coverage in [0, 1].

    stroke widens every line by that many pixels on each side (Pillow's stroke_width): a thicker pen.
    """
    from PIL import Image, ImageDraw, ImageFont  # Pillow comes with matplotlib; only this script needs it

    font = ImageFont.truetype(font_path, RENDER_PX)
    canvas = Image.new("L", (3 * RENDER_PX, 3 * RENDER_PX), 0)
    ImageDraw.Draw(canvas).text((1.5 * RENDER_PX, 1.5 * RENDER_PX), str(digit), fill=255, font=font,
                                anchor="mm", stroke_width=int(stroke), stroke_fill=255)
    mask = np.asarray(canvas, dtype=np.float64) / 255.0
    rows, cols = np.nonzero(mask > 0)
    if len(rows) == 0:
        raise ValueError(f"{font_path} draws nothing for the digit {digit}")
    return np.pad(mask[rows.min():rows.max() + 1, cols.min():cols.max() + 1], 2)


def glyph(font_path, digit, rng):
    """The glyph with a pen whose stroke is 6-14 % of the digit's height (MNIST's is about 12 %)."""
    plain = render_glyph(font_path, digit)
    target = rng.uniform(0.06, 0.14) * plain.shape[0]
    widen = int(round((target - stroke_thickness(plain)) / 2))  # a stroke of k grows by 2k
    return render_glyph(font_path, digit, stroke=widen) if widen > 0 else plain


# ---------------------------------------------------------------- the camera (NumPy only)

def homography(src, dst):
    """The 3x3 projective map H with H @ (x, y, 1) ~ (x', y', 1) for four point pairs (4, 2)."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(src, dst):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    h = np.linalg.solve(np.array(rows), np.array(rhs))
    return np.append(h, 1.0).reshape(3, 3)


def bilinear(image, x, y):
    """image sampled at float coordinates (x = column, y = row); 0 outside the image."""
    height, width = image.shape
    padded = np.pad(image, 1)
    x, y = np.clip(x + 1, 0, width + 0.999), np.clip(y + 1, 0, height + 0.999)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    x1, y1 = np.minimum(x0 + 1, width + 1), np.minimum(y0 + 1, height + 1)
    fx, fy = x - x0, y - y0
    top = padded[y0, x0] * (1 - fx) + padded[y0, x1] * fx
    bottom = padded[y1, x0] * (1 - fx) + padded[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def gaussian_blur(image, sigma):
    """Separable Gaussian blur with mirrored edges (a defocused lens)."""
    if sigma <= 0:
        return image
    radius = max(1, int(math.ceil(3 * sigma)))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    out = image
    for axis in (0, 1):
        padded = np.pad(out, [(radius, radius) if a == axis else (0, 0) for a in (0, 1)], mode="reflect")
        length = out.shape[axis]
        out = sum(w * np.take(padded, np.arange(k, k + length), axis=axis) for k, w in enumerate(taps))
    return out


def smooth_noise(shape, cells, rng):
    """Noise with about ``cells`` blobs across the image: a coarse N(0, 1) grid, bilinearly enlarged."""
    height, width = shape
    grid = rng.standard_normal((cells + 2, cells + 2))
    y = np.linspace(0, cells + 1, height)[:, None] * np.ones((1, width))
    x = np.linspace(0, cells + 1, width)[None, :] * np.ones((height, 1))
    return bilinear(grid, x, y)


def place(glyph_mask, height, width, rng):
    """Ink coverage (height, width) in [0, 1]: the glyph scaled, rotated, seen in perspective, placed.

    The glyph's height becomes 50-78 % of the photo's; each corner of its box moves by up to 5 % of
    that height (perspective and a little shear); it turns by up to 12 degrees; then it is shifted
    anywhere that keeps 3 pixels of paper around it.
    """
    gh, gw = glyph_mask.shape
    src = np.array([[0, 0], [gw, 0], [gw, gh], [0, gh]], dtype=np.float64)
    scale = rng.uniform(0.50, 0.78) * height / gh
    angle = math.radians(rng.uniform(-12, 12))
    jitter = rng.uniform(-0.05, 0.05, size=(4, 2)) * gh
    margin = 3
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    while True:  # shrink until the digit fits inside the photo
        dst = (src - [gw / 2, gh / 2] + jitter) * scale @ rotation.T
        low, high = dst.min(axis=0), dst.max(axis=0)
        room = np.array([width, height]) - 2 * margin - (high - low)
        if (room >= 0).all():
            break
        scale *= 0.95
    offset = margin - low + rng.uniform(0, 1, size=2) * room
    matrix = homography(src, dst + offset)
    inverse = np.linalg.inv(matrix)
    # sample the glyph at SUPERSAMPLE^2 points per photo pixel, then average: antialiasing
    steps = (np.arange(SUPERSAMPLE) + 0.5) / SUPERSAMPLE
    ys = (np.arange(height)[:, None] + steps[None, :]).ravel()
    xs = (np.arange(width)[:, None] + steps[None, :]).ravel()
    x, y = np.meshgrid(xs, ys)
    points = inverse @ np.stack([x.ravel(), y.ravel(), np.ones(x.size)])
    u, v = points[0] / points[2], points[1] / points[2]
    fine = bilinear(glyph_mask, u - 0.5, v - 0.5).reshape(height * SUPERSAMPLE, width * SUPERSAMPLE)
    return fine.reshape(height, SUPERSAMPLE, width, SUPERSAMPLE).mean(axis=(1, 3))


def lighting(height, width, rng):
    """Illumination factor (height, width): a gradient, vignetting and, one time in four, a soft shadow."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    cy, cx, size = (height - 1) / 2, (width - 1) / 2, max(height, width)
    direction = rng.uniform(0, 2 * math.pi)
    along = ((x - cx) * math.cos(direction) + (y - cy) * math.sin(direction)) / size
    light = 1 + rng.uniform(0, 0.35) * along                       # brighter on one side
    radius2 = ((x - cx) ** 2 + (y - cy) ** 2) / (cx ** 2 + cy ** 2)
    light *= 1 - rng.uniform(0, 0.2) * radius2                      # darker corners
    if rng.uniform() < 0.25:                                        # the phone's or a hand's shadow
        angle = rng.uniform(0, 2 * math.pi)
        edge = rng.uniform(-0.5, 0.5) * size
        softness = rng.uniform(2, 8)
        side = ((x - cx) * math.cos(angle) + (y - cy) * math.sin(angle) - edge) / softness
        light *= 1 - rng.uniform(0.15, 0.3) / (1 + np.exp(-side))
    return light


def photograph(glyph_mask, rng):
    """One photo of the glyph drawn on paper: uint8 (height, width), dark ink on light paper."""
    height, width = (int(v) for v in rng.integers(SIZE_RANGE[0], SIZE_RANGE[1] + 1, size=2))
    ink = place(glyph_mask, height, width, rng)
    ink *= 1 - rng.uniform(0, 0.3) * np.clip(smooth_noise(ink.shape, 3, rng), 0, None)  # pen pressure
    paper = rng.uniform(0.78, 0.95) * (1 + rng.uniform(0.01, 0.04) * smooth_noise(ink.shape, 6, rng)
                                       + rng.uniform(0.005, 0.02) * rng.standard_normal(ink.shape))
    pen = rng.uniform(0.04, 0.30)                                   # black marker .. blue ballpoint
    reflectance = paper * (1 - ink) + pen * ink
    exposure = rng.uniform(240, 290)                                # grey level of a white sheet
    image = gaussian_blur(exposure * lighting(height, width, rng) * reflectance, rng.uniform(0.3, 1.1))
    image += rng.uniform(1.0, 5.0) * rng.standard_normal(image.shape)  # sensor noise
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- the set

def plan(seed=SEED, repeats=REPEATS):
    """(digit, font index) of every photo: each pair ``repeats`` times, in a shuffled order."""
    pairs = [(digit, font) for digit in range(10) for font in range(len(FONTS)) for _ in range(repeats)]
    order = np.random.default_rng([seed, len(pairs)]).permutation(len(pairs))  # no runs of one digit
    return [pairs[i] for i in order]


def make_photo(digit, font, seed, index):
    """Photo number ``index`` of the set: its own generator, so each photo can be remade alone."""
    rng = np.random.default_rng([seed, index])
    return photograph(glyph(FONTS[font][1], digit, rng), rng)


def make_set(seed=SEED, repeats=REPEATS):
    """All photos: returns the dict of arrays that goes into the .npz (see the module docstring)."""
    items = plan(seed, repeats)
    photos = [make_photo(digit, font, seed, index) for index, (digit, font) in enumerate(items)]
    labels, fonts = zip(*items)
    return {
        "pixels": np.concatenate([p.ravel() for p in photos]),
        "shapes": np.array([p.shape for p in photos], dtype=np.int16),
        "labels": np.array(labels, dtype=np.uint8),
        "fonts": np.array(fonts, dtype=np.uint8),
        "font_names": np.array([Path(path).name for _, path, _ in FONTS]),
    }


def split_photos(arrays):
    """The list of (h, w) uint8 photos held in the arrays of make_set."""
    ends = np.cumsum([int(h) * int(w) for h, w in arrays["shapes"]])
    return [arrays["pixels"][end - h * w:end].reshape(h, w)
            for end, (h, w) in zip(ends, arrays["shapes"].astype(int))]


def preview(arrays, path, count=100):
    """A sheet of the first ``count`` photos (10 a row) with their labels, as a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    photos = split_photos(arrays)[:count]
    rows = math.ceil(len(photos) / 10)
    fig, axes = plt.subplots(rows, 10, figsize=(10, 1.15 * rows))
    for ax, photo, label in zip(axes.ravel(), photos, arrays["labels"]):
        ax.imshow(photo, cmap="gray", vmin=0, vmax=255)
        ax.set_title(str(label), fontsize=8)
    for ax in axes.ravel():
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="remake the set and compare it with the shipped file instead of writing it")
    parser.add_argument("--preview", metavar="PNG", help="also draw the first 100 photos into this PNG")
    args = parser.parse_args(argv)
    try:
        changed = check_fonts()
    except MissingFonts as err:
        print(err, file=sys.stderr)
        return 2
    for message in changed:
        print(f"warning: {message}; the photos will differ from the shipped ones", file=sys.stderr)
    arrays = make_set()
    data = npz_bytes(arrays)
    digest = sha256_bytes(data)
    sizes = arrays["shapes"]
    print(f"{len(arrays['labels'])} photos, {sizes.min()}..{sizes.max()} px; "
          f"{len(data):,} bytes, sha256 {digest}")
    if args.preview:
        preview(arrays, args.preview)
    return write_or_check(OUTPUT, data, check=args.check)

if __name__ == "__main__":
    sys.exit(main())
