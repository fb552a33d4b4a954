"""Reading a barcode from a photo: EAN-13, EAN-8, UPC-A, UPC-E, Code 128 and QR codes.

Telegram's own scanner reads only QR codes, so a cashier photographs the barcode and the server
decodes it with zxing-cpp. Decoding is CPU work: `decode` is plain blocking code that callers run
in a worker thread, and zxing-cpp and Pillow are imported there, not at start-up.
"""

from __future__ import annotations

import io

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a bigger "image" is a decompression bomb, not a photo of a barcode
WORK_SIDE = 2000  # larger photos are scaled down first: a barcode stays readable, decoding stays quick
FORMATS = "EAN13,EAN8,UPCA,UPCE,Code128,QRCode"
TILT = 45  # the readers tolerate about ±25°: a second pass turned by 45° covers the angles between


class NotAPicture(Exception):
    """The file is not an image Pillow can read."""


def decode(data: bytes) -> list[str]:
    """The codes in an image, best first (without duplicates); empty when none can be read."""
    import zxingcpp
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.width * opened.height > MAX_PIXELS:
                raise NotAPicture("too many pixels")
            image = ImageOps.exif_transpose(opened).convert("L")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise NotAPicture(str(exc)) from None
    image.thumbnail((WORK_SIDE, WORK_SIDE))
    formats = zxingcpp.barcode_formats_from_str(FORMATS)
    found = zxingcpp.read_barcodes(image, formats=formats)
    if not found:
        found = zxingcpp.read_barcodes(image.rotate(TILT, expand=True, fillcolor=255), formats=formats)
    codes: list[str] = []
    for barcode in found:
        text = barcode.text.strip()
        if text and text not in codes:
            codes.append(text)
    return codes


def code_variants(code: str) -> list[str]:
    """The forms a product may have been stored under for a decoded code.

    The reader gives UPC-A as 13 digits (EAN-13 with a leading 0) and UPC-E expanded to that form
    too, while a shop types UPC-A's 12 digits or UPC-E's 8 from the label.
    """
    variants = [code]
    if len(code) == 13 and code.isdigit() and code.startswith("0"):
        upc_a = code[1:]
        variants.append(upc_a)
        upc_e = _upc_e(upc_a)
        if upc_e:
            variants.append(upc_e)
    return variants


def _upc_e(upc_a: str) -> str | None:
    """The 8-digit UPC-E form of a 12-digit UPC-A code, when it has one (number system 0 or 1)."""
    system, maker, item, check = upc_a[0], upc_a[1:6], upc_a[6:11], upc_a[11]
    if system not in "01":
        return None
    if maker[2] in "012" and maker[3:] == "00" and item[:2] == "00":
        body = maker[:2] + item[2:] + maker[2]
    elif maker[3:] == "00" and item[:3] == "000":
        body = maker[:3] + item[3:] + "3"
    elif maker[4] == "0" and item[:4] == "0000":
        body = maker[:4] + item[4] + "4"
    elif item[:4] == "0000" and item[4] in "56789":
        body = maker + item[4]
    else:
        return None
    return system + body + check
