"""Barcode pictures the tests draw themselves (zxing-cpp's writer, Pillow), like a phone's photo."""

from __future__ import annotations

import io

import numpy as np
import zxingcpp
from PIL import Image, ImageFilter

FORMATS = {
    "EAN-13": zxingcpp.BarcodeFormat.EAN13,
    "EAN-8": zxingcpp.BarcodeFormat.EAN8,
    "UPC-A": zxingcpp.BarcodeFormat.UPCA,
    "UPC-E": zxingcpp.BarcodeFormat.UPCE,
    "Code 128": zxingcpp.BarcodeFormat.Code128,
    "QR": zxingcpp.BarcodeFormat.QRCode,
}


def barcode_photo(
    content: str, kind: str, *, scale: int = 4, turn: float = 0, shrink: float = 1, blur: float = 0
) -> bytes:
    """A JPEG of the code on a larger white page, turned by `turn` degrees, scaled by `shrink`, blurred."""
    code = zxingcpp.write_barcode_to_image(zxingcpp.create_barcode(content, FORMATS[kind]), scale=scale)
    image = Image.fromarray(np.array(code)).convert("L")
    if turn:
        image = image.rotate(turn, expand=True, fillcolor=255)
    page = Image.new("L", (image.width + 200, image.height + 160), 255)
    page.paste(image, (100, 80))
    if shrink != 1:
        page = page.resize((int(page.width * shrink), int(page.height * shrink)), Image.Resampling.LANCZOS)
    if blur:
        page = page.filter(ImageFilter.GaussianBlur(blur))
    out = io.BytesIO()
    page.convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()
