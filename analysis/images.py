"""Images made safe to show: a path that cannot leave the data folder, a URL of a host the user allowed, or a
base64 raster data URI; large local images shrunk to a thumbnail, images too large to decode shown as a
placeholder (their size is read from the header, nothing is decoded)."""

from __future__ import annotations

import base64
import binascii
import functools
import io
import os
import re
import string
from collections.abc import Collection
from pathlib import Path
from urllib.parse import urlsplit

from analysis.errors import ErrorscopeError

#: Local images up to this size are inlined as they are; larger ones are shrunk to a thumbnail.
MAX_IMAGE_BYTES = 512 * 1024
#: Longest side of the thumbnail made of a large local image.
THUMBNAIL_PX = 256
#: Images with more pixels than this are not decoded (a small PNG can hold 20000 x 20000 pixels, 1.6 GB
#: decoded): a placeholder is shown instead. 5000 x 5000 decodes in well under a second.
MAX_PIXELS = 25_000_000
#: Images whose longer side exceeds this are shrunk to a thumbnail whatever their file size.
MAX_SIDE_PX = 4096

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


def _dimensions(data: bytes | Path) -> tuple[int, int] | None:
    """Width and height from the image's header (nothing decoded), or None when Pillow cannot read it."""
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data) if isinstance(data, bytes) else data) as image:
                return image.size
    except Image.DecompressionBombError:
        return (Image.MAX_IMAGE_PIXELS or MAX_PIXELS) * 2, 1
    except (OSError, ValueError, SyntaxError):
        return None


def _thumbnail(data: bytes | Path) -> str | None:
    """A PNG data URI of the image shrunk to :data:`THUMBNAIL_PX` (JPEGs decoded at a reduced size)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data) if isinstance(data, bytes) else data) as image:
            image.draft("RGB", (THUMBNAIL_PX, THUMBNAIL_PX))
            image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
            out = io.BytesIO()
            if image.mode not in ("RGB", "RGBA", "L", "LA"):
                image = image.convert("RGBA")
            image.save(out, format="PNG")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


@functools.cache
def placeholder() -> str:
    """A small gray PNG data URI shown for an image too large to decode."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (THUMBNAIL_PX, THUMBNAIL_PX // 2), 220)
    ImageDraw.Draw(image).text((12, THUMBNAIL_PX // 4 - 6), "image too large to show", fill=80)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _safe_raster(data: bytes | Path, kind: str, size: int) -> str | None:
    """A data URI for an image: as it is, shrunk, or the placeholder; None when it is no readable image."""
    dims = _dimensions(data)
    if dims is None:
        return None
    if dims[0] * dims[1] > MAX_PIXELS:
        return placeholder()
    if size > MAX_IMAGE_BYTES or max(dims) > MAX_SIDE_PX:
        return _thumbnail(data)
    raw = data if isinstance(data, bytes) else data.read_bytes()
    return f"data:image/{kind};base64," + base64.b64encode(raw).decode("ascii")


def _allowed_url(text: str, hosts: Collection[str]) -> bool:
    host = (urlsplit(text).hostname or "").lower()
    return any(host == h or host.endswith("." + h) for h in (h.lower().lstrip(".") for h in hosts if h))


def resolve_image(folder: str | os.PathLike[str], value: object, hosts: Collection[str] = ()) -> str | None:
    """Turn an ``image`` cell into something safe to show, or None.

    Parameters
    ----------
    folder : str or path
        The folder of the predictions file; relative image paths are read from inside it.
    value : str or None
        The cell: an http(s) URL, a ``data:image/...`` URI, or a path relative to ``folder``.
    hosts : collection of str
        The hosts (and their subdomains) whose http(s) URLs may be shown; by default none, so that a browser
        showing the page fetches nothing from a host the user did not name.

    Returns
    -------
    str or None
        URLs of allowed hosts as they are; for a local file or a data URI, a ``data:image/<type>;base64,...``
        URI (shrunk to a thumbnail when larger than :data:`MAX_IMAGE_BYTES` or :data:`MAX_SIDE_PX`, a
        placeholder when over :data:`MAX_PIXELS`). None for a blank cell, another host or scheme, an absolute
        path, a path that leaves ``folder`` (``..``, a symlink pointing out), a missing file, or a file that is
        not a PNG, JPEG, GIF, BMP or WebP image.

    Examples
    --------
    >>> resolve_image(".", "https://example.org/cat.png", hosts=["example.org"])
    'https://example.org/cat.png'
    >>> resolve_image(".", "https://example.org/cat.png") is None
    True
    >>> resolve_image(".", "../../etc/passwd") is None
    True
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or "\x00" in text:
        return None
    if _URL.match(text):
        return text if _allowed_url(text, hosts) else None
    if _DATA_IMAGE.match(text):
        return _data_uri(text)
    if re.match(r"^[a-z][a-z0-9+.-]*:", text, re.IGNORECASE) or text.startswith(("/", "\\")):
        return None  # another scheme (file:, javascript:, data:text/html, C:), or an absolute path
    return _local(Path(folder), Path(text))


def _data_uri(text: str) -> str | None:
    try:
        data = base64.b64decode(text.split(",", 1)[1], validate=True)
    except (binascii.Error, ValueError):
        return None
    kind = _image_type(data[:16])
    return None if kind is None else _safe_raster(data, kind, len(data))


def _local(folder: Path, relative: Path) -> str | None:
    try:
        root = folder.resolve(strict=True)
        target = (root / relative).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):
        return None  # missing, or a symlink loop
    if not target.is_relative_to(root) or not target.is_file():
        return None
    try:
        size = target.stat().st_size
        with target.open("rb") as fh:
            kind = _image_type(fh.read(16))
        return None if kind is None else _safe_raster(target, kind, size)
    except OSError:
        return None


def media_name(pattern: str, example_id: object) -> str:
    """The path, relative to a media folder, of an example's image: ``pattern`` with ``{id}`` replaced.

    For files without an ``image`` column whose images are named after the ids (``errorscope app FILE --media DIR
    --media-pattern '{id}.png'``); the path is then read by :func:`resolve_image`'s rules, so it cannot leave the
    folder. The pattern holds ``{id}`` and nothing else in braces (``{{`` and ``}}`` for braces).

    >>> media_name("{id}.png", 7), media_name("img/{id}_x.jpg", "a b")
    ('7.png', 'img/a b_x.jpg')
    """
    return check_media_pattern(pattern).format(id=example_id)


def check_media_pattern(pattern: str) -> str:
    """``pattern`` when it names each image by ``{id}`` alone; else ErrorscopeError saying how to write it.

    >>> check_media_pattern("{id}.png")
    '{id}.png'
    """
    try:
        fields = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(pattern)
                  if name is not None]
    except ValueError:
        fields = [("", "", None)]
    if not fields or any(f != ("id", "", None) for f in fields):
        raise ErrorscopeError(f"media pattern {pattern!r}: write {{id}} where the example's id goes and nothing "
                              "else in braces, as in '{id}.png'")
    return pattern
