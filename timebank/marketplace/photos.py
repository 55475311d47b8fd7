"""Ad photos: check that an upload is a real image of a reasonable size, resize, store, serve.

* At most ``MARKETPLACE_PHOTO_MAX_BYTES`` (default 5 MB) are read; a larger upload is refused.
* The bytes must open with Pillow as JPEG, PNG, WebP or GIF (the file name and the declared
  content type are ignored) and hold at most ``MAX_PIXELS`` pixels (decompression bombs).
* The image is turned upright (EXIF orientation), shrunk to fit ``MAX_SIDE`` pixels and saved
  again as JPEG: metadata such as GPS position is not kept.
* Files live under ``UPLOAD_FOLDER`` (setting or environment variable; default
  ``instance/uploads``) as ``<group id>/<random>.jpg``. They are only ever served through the
  tenant-checked route ``marketplace.photo``, never as static files.
"""

import io
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError

from timebank.marketplace.errors import NotAnImage, PhotoTooLarge

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_SIDE = 1200
ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}


@dataclass(frozen=True)
class ProcessedPhoto:
    """A checked, resized photo ready to store (JPEG bytes)."""

    data: bytes
    width: int
    height: int


def max_bytes() -> int:
    return int(current_app.config.get("MARKETPLACE_PHOTO_MAX_BYTES") or DEFAULT_MAX_BYTES)


def upload_folder() -> Path:
    """Return the folder uploads are stored under (created on first use)."""
    folder = current_app.config.get("UPLOAD_FOLDER") or os.environ.get("UPLOAD_FOLDER")
    path = Path(folder) if folder else Path(current_app.instance_path) / "uploads"
    return path.resolve()


def process_photo(stream) -> ProcessedPhoto:
    """Read an uploaded file object and return it checked and resized.

    Raises :class:`PhotoTooLarge` or :class:`NotAnImage`; nothing is written.
    """
    limit = max_bytes()
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise PhotoTooLarge(max_megabytes=round(limit / (1024 * 1024), 1))
    if not raw:
        raise NotAnImage()
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            if probe.format not in ALLOWED_FORMATS:
                raise NotAnImage()
            if probe.width * probe.height > MAX_PIXELS:
                raise NotAnImage()
            probe.verify()
        with Image.open(io.BytesIO(raw)) as image:
            image.seek(0)  # first frame of an animated GIF
            image = ImageOps.exif_transpose(image)
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            if image.mode in ("RGBA", "LA", "P"):
                image = image.convert("RGBA")
                background = Image.new("RGB", image.size, "white")
                background.paste(image, mask=image.getchannel("A"))
                image = background
            elif image.mode != "RGB":
                image = image.convert("RGB")
            output = io.BytesIO()
            image.save(output, format="JPEG", quality=85, optimize=True)
            return ProcessedPhoto(data=output.getvalue(), width=image.width, height=image.height)
    except NotAnImage:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise NotAnImage() from error


def store_photo(photo: ProcessedPhoto, *, group_id: int) -> str:
    """Write ``photo`` under the upload folder and return its path relative to it."""
    relative = f"{group_id}/{secrets.token_urlsafe(16)}.jpg"
    target = upload_folder() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(photo.data)
    return relative


def photo_location(relative: str) -> Path | None:
    """Return the absolute path of a stored photo, or None if it is missing or escapes."""
    root = upload_folder()
    path = (root / relative).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path


def delete_photo(relative: str | None) -> None:
    """Remove a stored photo if it exists (called after the change that dropped it)."""
    if not relative:
        return
    path = photo_location(relative)
    if path is not None:
        path.unlink(missing_ok=True)
