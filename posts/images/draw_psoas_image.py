"""Draw the hero image of the psoas article: a woman leaning forward, a hand on her lower back.

Run `python posts/images/draw_psoas_image.py` to rewrite psoas-back-pain.jpg next to this
script. Only the standard library and Pillow; the drawing has no randomness, so the same
Pillow version always writes the same file. Coordinates are in output pixels (1600x1000);
the scene is drawn at twice that size and scaled down, which smooths every edge.
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

Point = tuple[float, float]
Colour = tuple[int, int, int]

WIDTH, HEIGHT = 1600, 1000
SUPERSAMPLE = 2
OUTPUT = Path(__file__).with_name("psoas-back-pain.jpg")

OFF_WHITE = (247, 243, 236)
WALL_LOW = (240, 233, 222)
SAND = (230, 214, 188)
SAND_DEEP = (214, 193, 160)
SAND_SHADOW = (196, 174, 140)
SAGE_PALE = (214, 222, 201)
SAGE_LIGHT = (188, 202, 170)
SAGE = (152, 170, 132)
SAGE_DEEP = (104, 124, 92)
SAGE_DARK = (78, 97, 70)
SKIN = (222, 178, 148)
SKIN_SHADE = (200, 152, 122)
HAIR = (92, 66, 54)
TROUSERS = (186, 160, 128)
TROUSERS_SHADE = (160, 134, 104)
TERRACOTTA = (205, 142, 108)
GLOW = (244, 150, 108)


def scaled(points: list[Point]) -> list[Point]:
    """Output coordinates to drawing coordinates."""
    return [(x * SUPERSAMPLE, y * SUPERSAMPLE) for x, y in points]


def cubic(p0: Point, p1: Point, p2: Point, p3: Point, steps: int = 48) -> list[Point]:
    """Points along a cubic Bezier curve, without its last point."""
    points = []
    for index in range(steps):
        t = index / steps
        u = 1 - t
        points.append(
            (
                u**3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t**3 * p3[0],
                u**3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t**3 * p3[1],
            )
        )
    return points


def outline(start: Point, *segments: tuple[Point, Point, Point]) -> list[Point]:
    """A closed outline from a start point and (control, control, end) cubic segments."""
    points: list[Point] = []
    current = start
    for control_a, control_b, end in segments:
        points += cubic(current, control_a, control_b, end)
        current = end
    return points


def shape(draw: ImageDraw.ImageDraw, points: list[Point], fill: Colour) -> None:
    """Fill a closed outline."""
    draw.polygon(scaled(points), fill=fill)


def disc(draw: ImageDraw.ImageDraw, centre: Point, radius: float, fill: Colour) -> None:
    """Fill a circle."""
    x, y = centre
    draw.ellipse(scaled([(x - radius, y - radius), (x + radius, y + radius)]), fill=fill)


def limb(
    draw: ImageDraw.ImageDraw, start: Point, end: Point, start_radius: float, end_radius: float, fill: Colour
) -> None:
    """A tapered capsule from start to end: an arm or leg segment."""
    dx, dy = end[0] - start[0], end[1] - start[1]
    length = math.hypot(dx, dy)
    nx, ny = -dy / length, dx / length
    shape(
        draw,
        [
            (start[0] + nx * start_radius, start[1] + ny * start_radius),
            (end[0] + nx * end_radius, end[1] + ny * end_radius),
            (end[0] - nx * end_radius, end[1] - ny * end_radius),
            (start[0] - nx * start_radius, start[1] - ny * start_radius),
        ],
        fill,
    )
    disc(draw, start, start_radius, fill)
    disc(draw, end, end_radius, fill)


def soft_layer(size: tuple[int, int]) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    """An empty greyscale mask to draw a soft shape in."""
    mask = Image.new("L", size, 0)
    return mask, ImageDraw.Draw(mask)


def tint(image: Image.Image, mask: Image.Image, colour: Colour) -> None:
    """Lay a colour over the image, as strong as the mask says."""
    image.paste(Image.new("RGB", image.size, colour), (0, 0), mask)


def draw_background(image: Image.Image) -> None:
    """Wall, arch window, decorative circles, floor."""
    draw = ImageDraw.Draw(image)
    floor_y = 840
    for y in range(floor_y):
        t = y / floor_y
        colour = tuple(round(a + (b - a) * t) for a, b in zip(OFF_WHITE, WALL_LOW, strict=True))
        draw.line(scaled([(0, y), (WIDTH, y)]), fill=colour, width=SUPERSAMPLE)

    # A tall arch behind the figure, like a window onto a garden.
    left, right, top = 560, 1140, 150
    radius = (right - left) / 2
    draw.rectangle(scaled([(left, top + radius), (right, floor_y)]), fill=SAGE_PALE)
    draw.pieslice(scaled([(left, top), (right, top + 2 * radius)]), 180, 360, fill=SAGE_PALE)
    inner = 34
    draw.rectangle(
        scaled([(left + inner, top + radius), (right - inner, floor_y)]), fill=(223, 229, 211)
    )
    draw.pieslice(
        scaled([(left + inner, top + inner), (right - inner, top + 2 * radius - inner)]),
        180,
        360,
        fill=(223, 229, 211),
    )

    # Warm sand sun and a smaller echo, upper left.
    disc(draw, (300, 260), 120, SAND)
    disc(draw, (455, 170), 38, SAGE_LIGHT)

    # Floor with a soft skirting line.
    draw.rectangle(scaled([(0, floor_y), (WIDTH, HEIGHT)]), fill=SAND)
    draw.rectangle(scaled([(0, floor_y), (WIDTH, floor_y + 6)]), fill=SAND_DEEP)


def draw_plant(image: Image.Image) -> None:
    """A potted plant on the floor to the right."""
    draw = ImageDraw.Draw(image)
    stems = [
        ((1330, 700), (1250, 470), (1210, 430)),
        ((1335, 700), (1320, 420), (1330, 360)),
        ((1340, 700), (1420, 480), (1470, 450)),
        ((1332, 700), (1270, 560), (1215, 560)),
        ((1338, 700), (1400, 580), (1455, 590)),
    ]
    leaf_colours = [SAGE, SAGE_DEEP, SAGE, SAGE_DEEP, SAGE_LIGHT]
    for (base, control, tip), colour in zip(stems, leaf_colours, strict=True):
        draw.line(scaled([base, control, tip]), fill=SAGE_DARK, width=4 * SUPERSAMPLE, joint="curve")
        leaf(draw, control, tip, colour)
    # Pot
    shape(
        draw,
        outline(
            (1270, 700),
            ((1300, 700), (1370, 700), (1400, 700)),
            ((1395, 760), (1385, 820), (1375, 840)),
            ((1340, 845), (1320, 845), (1295, 840)),
            ((1285, 820), (1275, 760), (1270, 700)),
        ),
        TERRACOTTA,
    )
    draw.rectangle(scaled([(1262, 690), (1408, 712)]), fill=(190, 126, 94))


def leaf(draw: ImageDraw.ImageDraw, base: Point, tip: Point, colour: Colour) -> None:
    """A pointed leaf from base to tip."""
    dx, dy = tip[0] - base[0], tip[1] - base[1]
    length = math.hypot(dx, dy) or 1
    nx, ny = -dy / length * 34, dx / length * 34
    mid_a = (base[0] + dx * 0.35 + nx, base[1] + dy * 0.35 + ny)
    mid_b = (base[0] + dx * 0.35 - nx, base[1] + dy * 0.35 - ny)
    extended = (tip[0] + dx * 0.6, tip[1] + dy * 0.6)
    shape(
        draw,
        outline(base, (mid_a, (tip[0] + nx * 0.3, tip[1] + ny * 0.3), extended), (
            (tip[0] - nx * 0.3, tip[1] - ny * 0.3),
            mid_b,
            base,
        )),
        colour,
    )


def draw_shadow(image: Image.Image) -> None:
    """A soft shadow on the floor under the figure."""
    mask, draw = soft_layer(image.size)
    draw.ellipse(scaled([(700, 838), (990, 872)]), fill=120)
    mask = mask.filter(ImageFilter.GaussianBlur(14 * SUPERSAMPLE))
    tint(image, mask, SAND_SHADOW)


def draw_figure(image: Image.Image) -> None:
    """The woman: leaning forward, left hand on her knee, right hand on her lower back."""
    draw = ImageDraw.Draw(image)
    # Far leg, a shade darker, behind.
    limb(draw, (790, 570), (800, 705), 46, 30, TROUSERS_SHADE)
    limb(draw, (800, 705), (790, 832), 30, 20, TROUSERS_SHADE)
    shape(draw, outline((770, 822), ((790, 818), (830, 822), (842, 836)), ((820, 842), (790, 842), (770, 840)), ((766, 834), (766, 826), (770, 822))), SAGE_DARK)
    # Far arm, resting on the front knee.
    limb(draw, (950, 400), (935, 540), 24, 19, SKIN_SHADE)
    limb(draw, (935, 540), (880, 640), 19, 15, SKIN_SHADE)
    # Near leg.
    limb(draw, (815, 570), (870, 705), 50, 31, TROUSERS)
    limb(draw, (870, 705), (862, 832), 31, 21, TROUSERS)
    shape(draw, outline((842, 822), ((862, 816), (905, 822), (918, 836)), ((895, 843), (860, 843), (840, 840)), ((837, 834), (837, 826), (842, 822))), SAGE_DARK)
    # Torso: a soft top in deep sage, leaning forward about forty degrees.
    shape(
        draw,
        outline(
            (760, 560),
            ((770, 500), (840, 400), (920, 360)),
            ((955, 345), (985, 360), (985, 400)),
            ((975, 450), (900, 520), (870, 580)),
            ((840, 600), (780, 600), (760, 560)),
        ),
        SAGE_DEEP,
    )
    # Neck and head, tipped down.
    limb(draw, (955, 372), (990, 345), 22, 20, SKIN)
    disc(draw, (1012, 318), 46, SKIN)
    # Hair: a low bun at the back of the head.
    shape(
        draw,
        outline(
            (968, 322),
            ((968, 280), (1010, 262), (1040, 280)),
            ((1060, 292), (1062, 318), (1055, 330)),
            ((1030, 300), (995, 300), (990, 330)),
            ((985, 345), (970, 345), (968, 322)),
        ),
        HAIR,
    )
    disc(draw, (958, 290), 28, HAIR)
    # Near arm: elbow out behind, hand flat on the lower back.
    limb(draw, (930, 395), (845, 440), 24, 19, SKIN)
    limb(draw, (845, 440), (800, 520), 19, 16, SKIN)
    shape(
        draw,
        outline(
            (786, 505),
            ((800, 498), (822, 510), (826, 528)),
            ((824, 548), (806, 560), (790, 552)),
            ((778, 540), (776, 515), (786, 505)),
        ),
        SKIN,
    )


def draw_glow(image: Image.Image) -> None:
    """A warm, soft light over the lower back and hip, where the psoas pulls."""
    mask, draw = soft_layer(image.size)
    draw.ellipse(scaled([(730, 470), (890, 630)]), fill=170)
    mask = mask.filter(ImageFilter.GaussianBlur(38 * SUPERSAMPLE))
    glow = Image.new("RGB", image.size, GLOW)
    image.paste(glow, (0, 0), mask)
    rings, draw = soft_layer(image.size)
    for radius, strength in ((105, 70), (140, 40)):
        draw.ellipse(
            scaled([(805 - radius, 545 - radius), (805 + radius, 545 + radius)]),
            outline=strength,
            width=3 * SUPERSAMPLE,
        )
    rings = rings.filter(ImageFilter.GaussianBlur(2 * SUPERSAMPLE))
    image.paste(glow, (0, 0), rings)


def draw_scene() -> Image.Image:
    """The whole picture at output size."""
    image = Image.new("RGB", (WIDTH * SUPERSAMPLE, HEIGHT * SUPERSAMPLE), OFF_WHITE)
    draw_background(image)
    draw_plant(image)
    draw_shadow(image)
    draw_figure(image)
    draw_glow(image)
    return image.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS)


def main() -> None:
    """Draw the scene and write it as a baseline JPEG."""
    draw_scene().save(OUTPUT, "JPEG", quality=85, optimize=True, progressive=False)
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
