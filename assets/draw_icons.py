"""Draw the app icon and the tray's status icons from shapes, and regenerate the files in `icons/`.

Regenerate everything with `python -m ollama_mcp_tray.assets.draw_icons`.

The mark is our own: a rounded badge holding a friendly head whose two upright ears are also the prongs of a
plug (a llama that plugs into things). Each status keeps a distinct *shape*, not only a colour, so the states
read at 16 px on light and dark panels alike:

- `up`: teal badge, white head.
- `loaded`: as `up`, plus a glowing yellow dot in the lower right corner (a model sits in memory).
- `down`: grey badge, dimmed head, a dark slash across it.
- `auth`: amber badge with a large `!` (Ollama answers but refuses us).
- `starting`: a hollow badge (ring only) with the head inside.

Shapes are signed distance functions evaluated once per pixel with analytic anti-aliasing, in plain Python:
no fonts, no randomness and no reliance on how a given Pillow version rasterises polygons, so the same code
gives the same pixels everywhere and the tests can compare committed PNGs with fresh drawings. At tray sizes
the geometry snaps to whole pixels (hinting) so edges stay crisp.

Only tray-side code and the regeneration command import this module (it needs Pillow); the server never does.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

STATES: tuple[str, ...] = ("up", "loaded", "down", "auth", "starting")
APP_SIZES: tuple[int, ...] = (16, 22, 24, 32, 48, 64, 128, 256, 512)
STATUS_SIZES: tuple[int, ...] = (16, 22, 24, 32, 48, 64)
ICO_SIZES: tuple[int, ...] = (16, 24, 32, 48, 64, 128, 256)
# The pixel sizes Pillow's ICNS writer stores (16 pt appears as its 32 px retina form); 1024 is drawn only
# for the .icns, with no PNG of its own.
ICNS_SIZES: tuple[int, ...] = (32, 64, 128, 256, 512, 1024)

ICONS_DIR = Path(__file__).resolve().parent / "icons"

RGBA = tuple[int, int, int, int]
# A signed distance in design units (the icon spans 0..16): negative inside the shape.
Sdf = Callable[[float, float], float]
# A fill: colour as a function of the vertical position (0 at the top, 1 at the bottom).
Fill = Callable[[float], RGBA]

GRID = 16.0

HALO: RGBA = (16, 20, 26, 230)
WHITE: RGBA = (255, 255, 255, 255)
TEAL_TOP: RGBA = (38, 190, 160, 255)
TEAL: RGBA = (20, 150, 128, 255)
TEAL_BOTTOM: RGBA = (12, 112, 100, 255)
GLOW: RGBA = (255, 206, 46, 255)
GREY: RGBA = (122, 129, 140, 255)
GREY_HEAD: RGBA = (205, 210, 218, 255)
SLASH: RGBA = (30, 34, 40, 255)
AMBER: RGBA = (246, 166, 35, 255)
AMBER_INK: RGBA = (40, 28, 6, 255)
PALE: RGBA = (206, 218, 232, 255)


# -- signed distance functions (design units) -------------------------------------------------------------


def rounded_box(x0: float, y0: float, x1: float, y1: float, r: float) -> Sdf:
    """A rectangle from (x0, y0) to (x1, y1) with corners rounded to radius r."""
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hx, hy = (x1 - x0) / 2 - r, (y1 - y0) / 2 - r

    def sdf(x: float, y: float) -> float:
        qx, qy = abs(x - cx) - hx, abs(y - cy) - hy
        outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
        return outside + min(max(qx, qy), 0.0) - r

    return sdf


def circle(cx: float, cy: float, r: float) -> Sdf:
    """A disc of radius r around (cx, cy)."""

    def sdf(x: float, y: float) -> float:
        return math.hypot(x - cx, y - cy) - r

    return sdf


def capsule(ax: float, ay: float, bx: float, by: float, r: float) -> Sdf:
    """A stroke of half-width r from (ax, ay) to (bx, by) with round ends."""
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy

    def sdf(x: float, y: float) -> float:
        t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / length2))
        return math.hypot(x - ax - t * dx, y - ay - t * dy) - r

    return sdf


def union(*shapes: Sdf) -> Sdf:
    """Everything inside any of the shapes."""

    def sdf(x: float, y: float) -> float:
        return min(shape(x, y) for shape in shapes)

    return sdf


def subtract(shape: Sdf, hole: Sdf) -> Sdf:
    """The shape with the hole cut out."""

    def sdf(x: float, y: float) -> float:
        return max(shape(x, y), -hole(x, y))

    return sdf


def intersect(shape: Sdf, other: Sdf) -> Sdf:
    """Only where both shapes are."""

    def sdf(x: float, y: float) -> float:
        return max(shape(x, y), other(x, y))

    return sdf


def grow(shape: Sdf, amount: float) -> Sdf:
    """The shape enlarged by `amount` on every side (shrunk when negative)."""

    def sdf(x: float, y: float) -> float:
        return shape(x, y) - amount

    return sdf


def solid(colour: RGBA) -> Fill:
    """A flat fill."""
    return lambda _t: colour


def gradient(top: RGBA, bottom: RGBA) -> Fill:
    """A vertical gradient from `top` to `bottom`."""

    def fill(t: float) -> RGBA:
        return (
            round(top[0] + (bottom[0] - top[0]) * t),
            round(top[1] + (bottom[1] - top[1]) * t),
            round(top[2] + (bottom[2] - top[2]) * t),
            round(top[3] + (bottom[3] - top[3]) * t),
        )

    return fill


# -- geometry on the pixel grid ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Grid:
    """Maps design units to pixels for one icon size, snapping to whole pixels at small sizes."""

    size: int

    @property
    def scale(self) -> float:
        return self.size / GRID

    @property
    def hinted(self) -> bool:
        # Below this size a half-covered pixel row reads as blur; above it anti-aliasing looks better.
        return self.size < 48

    def edge(self, u: float) -> float:
        """A position where a shape's edge lies: on a pixel boundary when hinted."""
        if not self.hinted:
            return u
        return round(u * self.scale) / self.scale

    def centre(self, u: float, width_u: float) -> float:
        """The centre line of a stroke `width_u` wide, placed so both of its edges fall on pixel boundaries."""
        if not self.hinted:
            return u
        width_px = max(1, round(width_u * self.scale))
        start = round(u * self.scale - width_px / 2)
        return (start + width_px / 2) / self.scale

    def width(self, u: float, minimum_px: int = 1) -> float:
        """A stroke width in design units, a whole number of pixels when hinted."""
        if not self.hinted:
            return u
        return max(minimum_px, round(u * self.scale)) / self.scale

    def px(self, pixels: float) -> float:
        """A length given in pixels, in design units."""
        return pixels / self.scale


@dataclass(frozen=True)
class Layer:
    """One shape painted with one fill, composited over the layers before it."""

    shape: Sdf
    fill: Fill


# -- the mark ---------------------------------------------------------------------------------------------


def _halo_px(size: int) -> int:
    # One pixel at tray sizes; proportionally thinner on large icons, where a heavy rim would dominate.
    return max(1, round(size / 24)) if size <= 64 else round(size / 64)


def _badge(g: Grid) -> tuple[Sdf, Sdf]:
    """The badge and its halo (a dark rim so the badge reads on light panels)."""
    margin = g.px(_halo_px(g.size))
    lo, hi = g.edge(margin), g.edge(GRID - margin)
    badge = rounded_box(lo, lo, hi, hi, 3.6)
    halo = grow(badge, lo)
    return badge, halo


def _head(g: Grid) -> tuple[Sdf, Sdf]:
    """The head (a face with two upright ears that double as plug prongs) and its eyes."""
    ear_w = g.width(2.0)
    left_ear_x, right_ear_x = g.centre(5.0, ear_w), g.centre(11.0, ear_w)
    ear_top, ear_bottom = g.edge(3.0) + ear_w / 2, 8.0
    ears = union(
        capsule(left_ear_x, ear_top, left_ear_x, ear_bottom, ear_w / 2),
        capsule(right_ear_x, ear_top, right_ear_x, ear_bottom, ear_w / 2),
    )
    # A llama's face narrows into a long muzzle: a wide brow over a narrower snout.
    brow = rounded_box(g.edge(4.0), g.edge(6.0), g.edge(12.0), g.edge(11.0), 2.2)
    snout = rounded_box(g.edge(5.0), g.edge(8.0), g.edge(11.0), g.edge(13.5), 2.4)
    face = union(brow, snout)
    eye_w, eye_h = g.width(1.2), g.width(1.8, minimum_px=2)
    eye_top = g.edge(8.6)
    eyes = union(
        rounded_box(
            g.centre(6.5, eye_w) - eye_w / 2, eye_top, g.centre(6.5, eye_w) + eye_w / 2, eye_top + eye_h, eye_w / 2
        ),
        rounded_box(
            g.centre(9.5, eye_w) - eye_w / 2, eye_top, g.centre(9.5, eye_w) + eye_w / 2, eye_top + eye_h, eye_w / 2
        ),
    )
    return union(ears, face), eyes


def _layers(state: str, g: Grid, *, app: bool) -> list[Layer]:
    badge, halo = _badge(g)
    head, eyes = _head(g)
    if state in ("up", "loaded"):
        badge_fill = gradient(TEAL_TOP, TEAL_BOTTOM) if app else solid(TEAL)
        layers = [Layer(halo, solid(HALO)), Layer(badge, badge_fill), Layer(subtract(head, eyes), solid(WHITE))]
        if state == "loaded":
            dot_r = g.width(3.0)
            ring = g.px(_halo_px(g.size))
            c = g.edge(GRID - dot_r - ring)
            layers += [
                Layer(circle(c, c, dot_r + ring), solid(HALO)),
                Layer(circle(c, c, dot_r), solid(GLOW)),
            ]
        return layers
    if state == "down":
        slash_w = g.width(2.0)
        gap = g.px(max(1, _halo_px(g.size)))
        slash = capsule(3.5, 3.5, 12.5, 12.5, slash_w / 2)
        return [
            Layer(halo, solid(HALO)),
            Layer(badge, solid(GREY)),
            Layer(subtract(subtract(head, eyes), grow(slash, gap)), solid(GREY_HEAD)),
            Layer(intersect(slash, badge), solid(SLASH)),
        ]
    if state == "auth":
        bar_w = g.width(2.4, minimum_px=2)
        x = g.centre(8.0, bar_w)
        bar = capsule(x, g.edge(3.5) + bar_w / 2, x, g.edge(9.5) - bar_w / 2, bar_w / 2)
        dot = rounded_box(x - bar_w / 2, g.edge(11.0), x + bar_w / 2, g.edge(11.0) + bar_w, bar_w / 2)
        return [Layer(halo, solid(HALO)), Layer(badge, solid(AMBER)), Layer(union(bar, dot), solid(AMBER_INK))]
    if state == "starting":
        # Hollow: the badge is only a ring, so the panel shows through where the other states are filled.
        # Light strokes edged in dark on both sides read on any panel colour.
        ring_w = g.width(1.2, minimum_px=1)
        halo_w = g.px(_halo_px(g.size))
        inside = grow(badge, -ring_w)
        return [
            Layer(union(subtract(halo, grow(inside, -halo_w)), grow(head, halo_w)), solid(HALO)),
            Layer(subtract(badge, inside), solid(PALE)),
            Layer(subtract(head, eyes), solid(PALE)),
        ]
    raise ValueError(f"unknown icon state {state!r}; expected one of {', '.join(STATES)} or 'app'")


# -- rendering --------------------------------------------------------------------------------------------


def _render(layers: Sequence[Layer], size: int) -> Image.Image:
    scale = size / GRID
    pixels = bytearray(size * size * 4)
    for layer in layers:
        shape, fill = layer.shape, layer.fill
        for py in range(size):
            y = (py + 0.5) / scale
            colour = fill((py + 0.5) / size)
            row = py * size * 4
            for px in range(size):
                coverage = 0.5 - shape((px + 0.5) / scale, y) * scale
                if coverage <= 0.0:
                    continue
                alpha = colour[3] / 255 * min(coverage, 1.0)
                _over(pixels, row + px * 4, colour, alpha)
    return Image.frombytes("RGBA", (size, size), bytes(pixels))


def _over(pixels: bytearray, i: int, colour: RGBA, alpha: float) -> None:
    """Composite `colour` with opacity `alpha` over the straight-alpha pixel at byte offset i."""
    dst_a = pixels[i + 3] / 255
    out_a = alpha + dst_a * (1 - alpha)
    if out_a <= 0:
        return
    for c in range(3):
        blended = (colour[c] * alpha + pixels[i + c] * dst_a * (1 - alpha)) / out_a
        pixels[i + c] = round(blended)
    pixels[i + 3] = round(out_a * 255)


def draw_icon(state: str, size: int) -> Image.Image:
    """Draw one icon.

    Args:
        state: "app" for the application icon, or a tray status: one of `STATES`.
        size: the edge in pixels.

    Returns:
        A new RGBA image, identical for the same arguments on every machine.

    Raises:
        ValueError: for an unknown state or a size below 8.
    """
    if size < 8:
        raise ValueError(f"icon size must be at least 8 px, got {size}")
    grid = Grid(size)
    if state == "app":
        return _render(_layers("up", grid, app=True), size)
    return _render(_layers(state, grid, app=False), size)


def icon_files() -> dict[str, tuple[str, int]]:
    """Every PNG that `main()` writes: file name -> (state, size)."""
    files = {f"app-{size}.png": ("app", size) for size in APP_SIZES}
    for state in STATES:
        files.update({f"status-{state}-{size}.png": (state, size) for size in STATUS_SIZES})
    return files


def write_icons(folder: Path) -> list[Path]:
    """Draw every icon into `folder`: the PNGs, a multi-size `app.ico` and `app.icns`.

    Returns:
        The files written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    drawn: dict[tuple[str, int], Image.Image] = {}
    for name, key in icon_files().items():
        drawn[key] = image = draw_icon(*key)
        path = folder / name
        # No timestamps or other varying chunks: the same drawing gives the same bytes.
        image.save(path, format="PNG", optimize=True)
        written.append(path)

    def app_image(size: int) -> Image.Image:
        return drawn.get(("app", size)) or draw_icon("app", size)

    ico = folder / "app.ico"
    largest_ico = app_image(max(ICO_SIZES))
    largest_ico.save(
        ico,
        format="ICO",
        sizes=[(s, s) for s in ICO_SIZES],
        append_images=[app_image(s) for s in ICO_SIZES if s != max(ICO_SIZES)],
    )
    written.append(ico)

    icns = folder / "app.icns"
    largest_icns = app_image(max(ICNS_SIZES))
    largest_icns.save(icns, format="ICNS", append_images=[app_image(s) for s in ICNS_SIZES if s != max(ICNS_SIZES)])
    written.append(icns)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate the icons into this package's `icons/` folder (or the folder given as the only argument)."""
    args = list(sys.argv[1:] if argv is None else argv)
    folder = Path(args[0]) if args else ICONS_DIR
    for path in write_icons(folder):
        sys.stderr.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
