"""Images users send: checked by content with Pillow and stored by content hash."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from bot.storage.records import StoredFile

ACCEPTED = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "WEBP": "webp"}
MAX_PIXELS = 40_000_000  # a 20,000 x 20,000 PNG (400 Mpx) is refused before decoding


class MediaError(ValueError):
    """A file refused; `key` is the i18n key of the explanation."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What a check learned about an image."""

    format: str
    mime: str
    width: int
    height: int


def check_image(data: bytes, max_bytes: int) -> ImageInfo:
    """Accept PNG/JPEG/GIF/WebP by content, within size and pixel limits; else MediaError."""
    if len(data) > max_bytes:
        raise MediaError("err_too_large")
    if not data:
        raise MediaError("err_not_image")
    with warnings.catch_warnings():
        # Pillow warns (and later raises) on decompression bombs; we check the size ourselves.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            info = _inspect(data)
        except MediaError:
            raise
        except Image.DecompressionBombError as exc:
            raise MediaError("err_too_many_pixels") from exc
        except Exception as exc:  # Pillow raises many types on garbage input
            raise MediaError("err_not_image") from exc
    return info


def _inspect(data: bytes) -> ImageInfo:
    """Read the header (format, size) and verify the file, without decoding the pixels."""
    with Image.open(io.BytesIO(data)) as im:
        fmt = im.format or ""
        width, height = im.size
        if fmt not in ACCEPTED:
            raise MediaError("err_not_image")
        if width * height > MAX_PIXELS:
            raise MediaError("err_too_many_pixels")
        im.verify()
    return ImageInfo(fmt, ACCEPTED[fmt], width, height)


class FileStore:
    """Files under `<root>/<ab>/<sha256>.<ext>` (root: `[store] files`, else
    `<data_dir>/files`): never a user-supplied name. Every process that shares a store reads
    and deletes them there (a directory the hosts share, when they are several)."""

    def __init__(self, data_dir: Path, root: Path | None = None) -> None:
        self.root = (root or data_dir / "files").resolve()

    def save(self, data: bytes, info: ImageInfo, now: float) -> StoredFile:
        """Write the bytes once (content-addressed) and describe them."""
        sha = hashlib.sha256(data).hexdigest()
        rel = Path(sha[:2]) / f"{sha}.{EXTENSIONS[info.format]}"
        path = self.root / rel
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        return StoredFile(sha, info.mime, len(data), info.width, info.height, str(rel), now)

    def path(self, rel: str) -> Path:
        """The absolute path of a stored file, refusing anything outside the store."""
        full = (self.root / rel).resolve()
        if not full.is_relative_to(self.root):
            raise ValueError("path outside the file store")
        return full

    def delete(self, rel: str) -> None:
        """Remove a stored file if present."""
        self.path(rel).unlink(missing_ok=True)
