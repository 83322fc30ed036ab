"""How the HEIC photos beside this file were made (not run by the tests).

publisher reads HEIC with pi-heif, which decodes only; writing one needs an encoder:

    python3 -m venv /tmp/heic && /tmp/heic/bin/pip install pillow-heif
    /tmp/heic/bin/python tests/photos/make_heic.py

- landscape.heic: 2400 x 1600, the left half red, the right half blue.
- upright.heic: a photo taken with the phone held upright, stored on its side as an iPhone
  does (a rotation box and EXIF orientation 6): shown 1200 x 1600, the top half red, the
  bottom half blue.
"""

from pathlib import Path

import pillow_heif
from PIL import Image

RED, BLUE = (200, 30, 30), (30, 30, 200)
HERE = Path(__file__).parent

pillow_heif.register_heif_opener()
landscape = Image.new("RGB", (2400, 1600), RED)
landscape.paste(BLUE, (1200, 0, 2400, 1600))
landscape.save(HERE / "landscape.heic", quality=50)
shown = Image.new("RGB", (1200, 1600), RED)
shown.paste(BLUE, (0, 800, 1200, 1600))
exif = Image.Exif()
exif[0x0112] = 6  # turn a quarter clockwise to show
shown.transpose(Image.Transpose.ROTATE_90).save(
    HERE / "upright.heic", exif=exif.tobytes(), quality=50
)
