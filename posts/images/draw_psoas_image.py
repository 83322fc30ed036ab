"""Draw the hero image of the psoas article: a woman leaning forward, a hand on her lower back.

Run `python posts/images/draw_psoas_image.py` to rewrite psoas-back-pain.jpg next to this
script. Only the standard library and Pillow; the drawing has no randomness, so the same
Pillow build always writes the same bytes. Coordinates are in output pixels (1600x1000);
the scene is drawn at twice that size and scaled down, which smooths every edge.
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter

Point = tuple[float, float]
Colour = tuple[int, int, int]

WIDTH, HEIGHT = 1600, 1000
SUPERSAMPLE = 2
OUTPUT = Path(__file__).with_name("psoas-back-pain.jpg")
FLOOR_Y = 770  # where the wall meets the floor; everything stands further forward, at 840

OFF_WHITE = (247, 243, 236)
WALL_LOW = (240, 233, 222)
SAND = (230, 214, 188)
SAND_DEEP = (214, 193, 160)
SAND_SHADOW = (196, 174, 140)
FLOOR_FRONT = (221, 202, 172)
RUG = (205, 214, 190)
RUG_EDGE = (186, 198, 168)
SAGE_PALE = (214, 222, 201)
ARCH_INSIDE = (223, 229, 211)
SAGE_LIGHT = (188, 202, 170)
SAGE = (152, 170, 132)
SAGE_DEEP = (104, 124, 92)
SAGE_DARK = (78, 97, 70)
SKIN = (216, 168, 136)
SKIN_SHADE = (190, 142, 112)
HAIR = (86, 60, 50)
TOP = (110, 132, 98)
LEGGINGS = (128, 112, 102)
LEGGINGS_SHADE = (104, 90, 84)
SHOE = (236, 228, 214)
SHOE_SHADE = (208, 198, 182)
TERRACOTTA = (205, 142, 108)
TERRACOTTA_DEEP = (188, 124, 92)
WOOD = (196, 164, 126)
OFF_WHITE_DEEP = (252, 250, 246)
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


def arc_point(centre: Point, radius: float, degrees: float) -> Point:
    """The point on a circle at an angle, measured clockwise from the right (y points down)."""
    angle = math.radians(degrees)
    return (centre[0] + radius * math.cos(angle), centre[1] + radius * math.sin(angle))


def limb(
    draw: ImageDraw.ImageDraw,
    start: Point,
    end: Point,
    start_radius: float,
    end_radius: float,
    fill: Colour,
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
    floor_y = FLOOR_Y
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
        scaled([(left + inner, top + radius), (right - inner, floor_y)]), fill=ARCH_INSIDE
    )
    draw.pieslice(
        scaled([(left + inner, top + inner), (right - inner, top + 2 * radius - inner)]),
        180,
        360,
        fill=ARCH_INSIDE,
    )

    # Warm sand sun and a smaller echo, upper left.
    disc(draw, (300, 260), 120, SAND)
    disc(draw, (455, 170), 38, SAGE_LIGHT)

    # Floor, a touch darker towards the front, with a soft skirting line.
    for y in range(floor_y, HEIGHT):
        t = (y - floor_y) / (HEIGHT - floor_y)
        colour = tuple(round(a + (b - a) * t) for a, b in zip(SAND, FLOOR_FRONT, strict=True))
        draw.line(scaled([(0, y), (WIDTH, y)]), fill=colour, width=SUPERSAMPLE)
    draw.rectangle(scaled([(0, floor_y), (WIDTH, floor_y + 6)]), fill=SAND_DEEP)
    # A round rug for her to stand on.
    draw.ellipse(scaled([(560, 806), (1150, 884)]), fill=RUG_EDGE)
    draw.ellipse(scaled([(574, 812), (1136, 878)]), fill=RUG)


def draw_plant(image: Image.Image) -> None:
    """A potted plant on the floor to the right."""
    draw = ImageDraw.Draw(image)
    base = (1335, 700)
    # (bend, tip, leaf colour) for each stem, back to front.
    stems = [
        ((1300, 520), (1236, 420), SAGE_LIGHT),
        ((1350, 480), (1352, 340), SAGE),
        ((1390, 520), (1462, 430), SAGE_LIGHT),
        ((1290, 600), (1200, 540), SAGE_DEEP),
        ((1370, 560), (1418, 470), SAGE_DEEP),
        ((1320, 560), (1288, 452), SAGE),
        ((1380, 620), (1470, 580), SAGE),
    ]
    for bend, tip, colour in stems:
        curve = cubic(base, bend, bend, tip, steps=32) + [tip]
        draw.line(scaled(curve), fill=SAGE_DARK, width=3 * SUPERSAMPLE, joint="curve")
        leaf(draw, curve[-8], tip, colour)
    shape(
        draw,
        outline(
            (1272, 706),
            ((1310, 706), (1360, 706), (1398, 706)),
            ((1394, 766), (1386, 818), (1374, 840)),
            ((1340, 846), (1330, 846), (1296, 840)),
            ((1284, 818), (1276, 766), (1272, 706)),
        ),
        TERRACOTTA,
    )
    draw.rounded_rectangle(
        scaled([(1262, 692), (1408, 716)]), radius=6 * SUPERSAMPLE, fill=TERRACOTTA_DEEP
    )


def draw_towels(image: Image.Image) -> None:
    """A low bench with rolled towels, to the left."""
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle(scaled([(190, 730), (470, 752)]), radius=8 * SUPERSAMPLE, fill=WOOD)
    for x in (215, 440):
        draw.rounded_rectangle(
            scaled([(x - 10, 748), (x + 10, 840)]), radius=4 * SUPERSAMPLE, fill=WOOD
        )
    rolls = [
        ((265, 694), SAGE_LIGHT),
        ((345, 694), OFF_WHITE_DEEP),
        ((425, 694), SAND_DEEP),
        ((305, 626), OFF_WHITE_DEEP),
        ((385, 626), SAGE_LIGHT),
    ]
    for centre, colour in rolls:
        disc(draw, centre, 36, colour)
        shade = tuple(round(channel * 0.86) for channel in colour)
        # The rolled end: a loose spiral.
        spiral = [arc_point(centre, 4 + 28 * t / 720, t + 90) for t in range(0, 721, 8)]
        draw.line(scaled(spiral), fill=shade, width=3 * SUPERSAMPLE, joint="curve")


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
        outline(
            base,
            (mid_a, (tip[0] + nx * 0.3, tip[1] + ny * 0.3), extended),
            (
                (tip[0] - nx * 0.3, tip[1] - ny * 0.3),
                mid_b,
                base,
            ),
        ),
        colour,
    )


def draw_shadows(image: Image.Image) -> None:
    """Soft shadows on the floor under the figure, the bench and the pot."""
    mask, draw = soft_layer(image.size)
    draw.ellipse(scaled([(720, 826), (960, 856)]), fill=130)
    draw.ellipse(scaled([(190, 830), (480, 852)]), fill=90)
    draw.ellipse(scaled([(1276, 830), (1410, 852)]), fill=110)
    mask = mask.filter(ImageFilter.GaussianBlur(14 * SUPERSAMPLE))
    tint(image, mask, SAND_SHADOW)


def draw_figure(image: Image.Image) -> None:
    """The woman: bent forward at the hips, one hand on her knee, one on her lower back."""
    draw = ImageDraw.Draw(image)
    # Far leg, in shade, behind everything else.
    limb(draw, (792, 585), (812, 710), 40, 26, LEGGINGS_SHADE)
    limb(draw, (812, 710), (790, 818), 26, 16, LEGGINGS_SHADE)
    shoe(draw, (790, 822), SHOE_SHADE)
    # Near leg, knee a little bent.
    limb(draw, (825, 590), (868, 710), 42, 27, LEGGINGS)
    limb(draw, (868, 710), (850, 818), 27, 17, LEGGINGS)
    shoe(draw, (850, 822), SHOE)
    # Arm reaching down to rest on the knee; its shoulder hides under the torso.
    limb(draw, (935, 395), (932, 520), 21, 16, SKIN_SHADE)
    limb(draw, (932, 520), (880, 640), 16, 13, SKIN_SHADE)
    disc(draw, (874, 652), 17, SKIN_SHADE)
    # Hips and seat, in the leggings.
    shape(
        draw,
        outline(
            (772, 620),
            ((748, 604), (744, 560), (770, 532)),
            ((800, 520), (860, 530), (884, 560)),
            ((890, 592), (862, 626), (828, 632)),
            ((805, 634), (786, 630), (772, 620)),
        ),
        LEGGINGS,
    )
    # Top: leaning forward about forty-five degrees, the back gently rounded.
    shape(
        draw,
        outline(
            (768, 556),
            ((786, 500), (840, 418), (904, 374)),
            ((930, 356), (962, 342), (980, 350)),
            ((994, 372), (988, 402), (968, 426)),
            ((936, 466), (900, 526), (888, 584)),
            ((850, 582), (800, 572), (766, 556)),
        ),
        TOP,
    )
    # Neck and head, tipped down towards the floor.
    limb(draw, (968, 362), (996, 346), 17, 16, SKIN)
    head, radius = (1012, 328), 42
    disc(draw, head, radius, SKIN)
    disc(draw, arc_point(head, radius - 4, 48), 9, SKIN)  # the nose, pointing at the floor
    disc(draw, (972, 292), 23, HAIR)  # the bun
    # Hair over the crown and the back of the head; she faces down and to the right.
    crown = [arc_point(head, radius + 3, angle) for angle in range(120, 336, 4)]
    forehead, nape = crown[-1], crown[0]
    hairline = cubic(forehead, (1034, 326), (1006, 336), nape, steps=24)
    shape(draw, crown + hairline, HAIR)
    # Near arm: elbow out behind, the hand spread on the lower back.
    limb(draw, (922, 392), (818, 416), 22, 17, SKIN)
    limb(draw, (922, 392), (872, 404), 24, 21, TOP)  # short sleeve
    limb(draw, (818, 416), (790, 500), 17, 14, SKIN)
    shape(
        draw,
        outline(
            (778, 494),
            ((794, 486), (812, 500), (812, 520)),
            ((812, 544), (798, 558), (784, 552)),
            ((770, 540), (766, 508), (778, 494)),
        ),
        SKIN,
    )


def shoe(draw: ImageDraw.ImageDraw, heel: Point, colour: Colour) -> None:
    """A flat shoe whose heel sits at the given point, pointing right."""
    x, y = heel
    shape(
        draw,
        outline(
            (x - 20, y - 12),
            ((x, y - 20), (x + 40, y - 14), (x + 58, y + 6)),
            ((x + 50, y + 18), (x, y + 18), (x - 22, y + 16)),
            ((x - 28, y + 8), (x - 28, y - 6), (x - 20, y - 12)),
        ),
        colour,
    )


def draw_glow(image: Image.Image) -> Image.Image:
    """A warm light over the lower back and hip, where the psoas pulls."""
    core, draw = soft_layer(image.size)
    draw.ellipse(scaled([(730, 470), (870, 610)]), fill=255)
    core = core.filter(ImageFilter.GaussianBlur(30 * SUPERSAMPLE))
    rings, draw = soft_layer(image.size)
    for radius, strength in ((96, 150), (128, 90)):
        draw.ellipse(
            scaled([(800 - radius, 540 - radius), (800 + radius, 540 + radius)]),
            outline=strength,
            width=3 * SUPERSAMPLE,
        )
    rings = rings.filter(ImageFilter.GaussianBlur(1.5 * SUPERSAMPLE))
    mask = ImageChops.lighter(core.point(lambda value: value * 3 // 5), rings)
    # Tint for the colour, then screen for the light, so the figure shows through.
    image.paste(Image.new("RGB", image.size, GLOW), (0, 0), mask)
    light = Image.composite(
        Image.new("RGB", image.size, GLOW),
        Image.new("RGB", image.size),
        core.point(lambda value: value // 3),
    )
    return ImageChops.screen(image, light)


def draw_scene() -> Image.Image:
    """The whole picture at output size."""
    image = Image.new("RGB", (WIDTH * SUPERSAMPLE, HEIGHT * SUPERSAMPLE), OFF_WHITE)
    draw_background(image)
    draw_shadows(image)
    draw_plant(image)
    draw_towels(image)
    draw_figure(image)
    image = draw_glow(image)
    return image.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS)


def main() -> None:
    """Draw the scene and write it as a baseline JPEG."""
    draw_scene().save(OUTPUT, "JPEG", quality=85, optimize=True, progressive=False)
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
