"""Images made safe to show: a path that cannot leave the data folder, a URL, or a base64 raster data URI; large
local images shrunk to a thumbnail."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

#: Local images up to this size are inlined as they are; larger ones are shrunk to a thumbnail.
MAX_IMAGE_BYTES = 512 * 1024
#: Longest side of the thumbnail made of a large local image.
THUMBNAIL_PX = 256

_IMAGE_TYPES = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
)
#: An image inlined as base64 of a raster type (an SVG can carry script; st.image decodes the base64 part).
_DATA_IMAGE = re.compile(r"^data:image/(?:png|jpe?g|gif|webp|bmp);base64,[A-Za-z0-9+/]*={0,2}$", re.IGNORECASE)
_URL = re.compile(r"^https?://[^\s]+$", re.IGNORECASE)



def _image_type(head: bytes) -> str | None:
    for magic, kind in _IMAGE_TYPES:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def _thumbnail(path: Path) -> str | None:
    try:
        from PIL import Image
    except ImportError:
        return None
    import io

    try:
        with Image.open(path) as image:
            image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
            out = io.BytesIO()
            if image.mode not in ("RGB", "RGBA", "L", "LA"):
                image = image.convert("RGBA")
            image.save(out, format="PNG")
    except (OSError, ValueError):
        return None
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def resolve_image(folder: str | os.PathLike[str], value: object) -> str | None:
    """Turn an ``image`` cell into something safe to show, or None.

    Parameters
    ----------
    folder : str or path
        The folder of the predictions file; relative image paths are read from inside it.
    value : str or None
        The cell: an http(s) URL, a ``data:image/...`` URI, or a path relative to ``folder``.

    Returns
    -------
    str or None
        URLs and image data URIs as they are; for a local file, a ``data:image/<type>;base64,...`` URI (shrunk
        to a thumbnail when larger than :data:`MAX_IMAGE_BYTES`). None for a blank cell, another scheme, an
        absolute path, a path that leaves ``folder`` (``..``, a symlink pointing out), a missing file, or a
        file that is not a PNG, JPEG, GIF, BMP or WebP image.

    Examples
    --------
    >>> resolve_image(".", "https://example.org/cat.png")
    'https://example.org/cat.png'
    >>> resolve_image(".", "../../etc/passwd") is None
    True
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or "\x00" in text:
        return None
    if _URL.match(text) or _DATA_IMAGE.match(text):
        return text
    if re.match(r"^[a-z][a-z0-9+.-]*:", text, re.IGNORECASE) or text.startswith(("/", "\\")):
        return None  # another scheme (file:, javascript:, data:text/html, C:), or an absolute path
    relative = Path(text)
    try:
        root = Path(folder).resolve(strict=True)
        target = (root / relative).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):
        return None  # missing, or a symlink loop
    if not target.is_relative_to(root) or not target.is_file():
        return None
    try:
        size = target.stat().st_size
        with target.open("rb") as fh:
            head = fh.read(16)
            kind = _image_type(head)
            if kind is None:
                return None
            if size > MAX_IMAGE_BYTES:
                return _thumbnail(target)
            data = head + fh.read()
    except OSError:
        return None
    return f"data:image/{kind};base64," + base64.b64encode(data).decode("ascii")
