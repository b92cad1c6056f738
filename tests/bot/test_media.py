"""Images are checked by content (not by name), size-capped, bomb-safe, stored by hash."""

from __future__ import annotations

import hashlib
import io
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageFile

from bot.media import FileStore, MediaError, check_image
from tests.helpers.builders import bmp, exe, gif, jpeg, png, png_bomb, png_header_only

LIMIT = 8 * 1024 * 1024


@pytest.mark.parametrize(
    ("data", "fmt", "mime"),
    [
        (png(4, 3), "PNG", "image/png"),
        (jpeg(8, 6), "JPEG", "image/jpeg"),
        (gif(), "GIF", "image/gif"),
    ],
)
def test_real_images_are_accepted_by_content(data: bytes, fmt: str, mime: str) -> None:
    info = check_image(data, LIMIT)
    assert (info.format, info.mime) == (fmt, mime)
    assert info.width > 0 and info.height > 0


def test_png_size_is_read() -> None:
    info = check_image(png(4, 3), LIMIT)
    assert (info.width, info.height) == (4, 3)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, this is not an image",
        exe(),
        bmp(),
        b"<svg xmlns='http://www.w3.org/2000/svg'></svg>",
        b"GIF89a" + b"\x00" * 3,
        png(4, 3)[:40],  # truncated
        b"\x89PNG\r\n\x1a\n" + b"\xff" * 200,  # a PNG signature and garbage
    ],
    ids=["empty", "text", "exe", "bmp", "svg", "gif-header", "truncated-png", "bad-png"],
)
def test_what_is_not_an_accepted_image_is_refused(data: bytes) -> None:
    with pytest.raises(MediaError) as err:
        check_image(data, LIMIT)
    assert err.value.key == "err_not_image"


def test_too_many_bytes_are_refused_before_decoding() -> None:
    with pytest.raises(MediaError) as err:
        check_image(png(), 10)
    assert err.value.key == "err_too_large"


class DecodeSpy:
    """Counts Pillow's pixel decoding: every decoder is made by `Image._getdecoder` and every
    pixel load goes through `ImageFile.load`, so a count of 0 proves no pixel was decoded."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.decoders: list[str] = []
        self.loads = 0
        real_decoder, real_load = Image._getdecoder, ImageFile.ImageFile.load

        def getdecoder(mode: str, name: str, *args: Any, **kw: Any) -> Any:
            self.decoders.append(name)
            return real_decoder(mode, name, *args, **kw)

        def load(image: ImageFile.ImageFile) -> Any:
            self.loads += 1
            return real_load(image)

        monkeypatch.setattr(Image, "_getdecoder", getdecoder)
        monkeypatch.setattr(ImageFile.ImageFile, "load", load)


def test_a_20000_by_20000_png_bomb_is_refused_without_decoding_a_pixel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bomb = png_bomb()
    assert len(bomb) < 200_000  # ~50 KB on disk, 400 megapixels once decoded
    spy = DecodeSpy(monkeypatch)
    tracemalloc.start()
    try:
        with pytest.raises(MediaError) as err:
            check_image(bomb, LIMIT)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert err.value.key == "err_too_many_pixels"
    assert (spy.decoders, spy.loads) == ([], 0)  # refused from the header alone
    assert peak < 20 * 1024 * 1024  # Python-side allocations: the 50 KB file, nothing inflated
    # The spy sees a decode when there is one: a small image's pixels, loaded on purpose.
    with Image.open(io.BytesIO(png(4, 3))) as small:
        small.load()
    assert spy.decoders == ["zip"] and spy.loads == 1


@pytest.mark.parametrize(("width", "height"), [(8_000, 8_000), (100_000, 1_000), (65_535, 65_535)])
def test_images_over_the_pixel_limit_are_refused_from_their_header(
    width: int, height: int
) -> None:
    # Up to 2 x Pillow's MAX_IMAGE_PIXELS our own check refuses it; beyond, Pillow's bomb error
    # does (at open), and check_image maps that to the same answer.
    with pytest.raises(MediaError) as err:
        check_image(png_header_only(width, height), LIMIT)
    assert err.value.key == "err_too_many_pixels"


def test_file_store_keeps_files_by_content_hash(tmp_path: Path) -> None:
    files = FileStore(tmp_path)
    data = png()
    stored = files.save(data, check_image(data, LIMIT), 1.0)
    sha = hashlib.sha256(data).hexdigest()
    assert stored.sha256 == sha
    assert stored.path == f"{sha[:2]}/{sha}.png"
    assert files.path(stored.path).read_bytes() == data
    assert files.path(stored.path).is_relative_to(tmp_path / "files")
    assert (stored.mime, stored.size, stored.width, stored.height) == (
        "image/png",
        len(data),
        4,
        3,
    )


def test_the_same_bytes_are_stored_once(tmp_path: Path) -> None:
    files = FileStore(tmp_path)
    data = jpeg()
    first = files.save(data, check_image(data, LIMIT), 1.0)
    second = files.save(data, check_image(data, LIMIT), 2.0)
    assert first.path == second.path
    assert len([p for p in (tmp_path / "files").rglob("*") if p.is_file()]) == 1


def test_no_user_supplied_name_reaches_the_file_system(tmp_path: Path) -> None:
    files = FileStore(tmp_path)
    data = png(color=(1, 2, 3))
    stored = files.save(data, check_image(data, LIMIT), 1.0)
    assert ".." not in stored.path
    assert Path(stored.path).name == f"{stored.sha256}.png"


@pytest.mark.parametrize(
    "rel", ["../kefu.sqlite3", "../../etc/passwd", "/etc/passwd", "ab/../../x", "ab/../../../x"]
)
def test_paths_outside_the_store_are_refused(tmp_path: Path, rel: str) -> None:
    files = FileStore(tmp_path / "data")
    with pytest.raises(ValueError, match="outside"):
        files.path(rel)
    with pytest.raises(ValueError, match="outside"):
        files.delete(rel)


def test_delete_removes_a_stored_file_and_tolerates_a_missing_one(tmp_path: Path) -> None:
    files = FileStore(tmp_path)
    data = png(color=(9, 9, 9))
    stored = files.save(data, check_image(data, LIMIT), 1.0)
    files.delete(stored.path)
    assert not files.path(stored.path).exists()
    files.delete(stored.path)
