"""Photo evidence: validate one uploaded photo, make its public copies, store them, compare its
EXIF with the report (docs/reliability.md §0.10–11, R14).

The rules:
- The file's CONTENT decides, never its name or declared content type. Accepted: JPEG (including
  the multi-picture JPEG some phones write), PNG, WebP and HEIC/HEIF (HEVC, through pillow-heif).
  Anything else is refused with `PhotoRejected`, whose `code` is one of `RejectCode`.
- Limits (caller-overridable keyword arguments): `MAX_BYTES` of file, `MAX_PIXELS` read from the
  header before anything is decoded. Pillow's `DecompressionBombWarning` is turned into an
  error too, so Pillow's own limit (`Image.MAX_IMAGE_PIXELS`) caps a larger `max_pixels`.
- The original bytes are kept unchanged, as private evidence (with their EXIF and GPS).
- The public copy and the thumbnail are new JPEGs: turned upright by the EXIF orientation, at
  most `PUBLIC_MAX_SIDE` / `THUMB_MAX_SIDE` pixels on the longest side, converted to sRGB, and
  carrying no metadata at all (no EXIF, GPS, XMP, ICC profile or comment).
- Files are written under content-hash names before any database transaction; writing is
  idempotent. Nothing here touches the database.
- A photo whose time or place disagrees with the report is flagged, never refused.

Heavy work (decoding, resizing) happens here, so callers run it outside `transaction.atomic()`
(docs/reliability.md §0.10: SQLite writers queue behind a transaction that holds the lock).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import pillow_heif
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from PIL import ExifTags, Image, ImageCms, ImageFile, UnidentifiedImageError
from pyproj import Geod

# HEIC: the primary image only. No embedded thumbnail is read, so none can stand in for the
# image (pillow-heif's draft() would pick one, and its content need not match), and no depth or
# auxiliary images. These options are process-wide.
pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)

MAX_BYTES = 15 * 1024 * 1024
MAX_PIXELS = 40_000_000
PUBLIC_MAX_SIDE = 2048
THUMB_MAX_SIDE = 320
JPEG_QUALITY = 85
# EXIF times without OffsetTimeOriginal are the camera's local time; officers work in China.
ASSUMED_TZ = ZoneInfo("Asia/Shanghai")
# A photo "taken after the report" by less than this is clock drift, not a mismatch.
CLOCK_SKEW = timedelta(minutes=10)

_GEOD = Geod(ellps="WGS84")
_SRGB = ImageCms.createProfile("sRGB")


class RejectCode(StrEnum):
    NOT_AN_IMAGE = "not_an_image"
    UNSUPPORTED_FORMAT = "unsupported_format"
    TOO_LARGE = "too_large"
    TOO_MANY_PIXELS = "too_many_pixels"
    CORRUPT = "corrupt"


class EvidenceFlag(StrEnum):
    GPS_FAR = "gps_far"
    NO_EXIF_GPS = "no_exif_gps"
    TAKEN_LONG_BEFORE = "taken_long_before"
    TAKEN_AFTER_REPORT = "taken_after_report"
    NO_EXIF_TIME = "no_exif_time"


_MESSAGES = {
    RejectCode.NOT_AN_IMAGE: "文件不是图片（JPEG/PNG/WebP/HEIC）/ not an image (JPEG, PNG, WebP or HEIC)",
    RejectCode.UNSUPPORTED_FORMAT: (
        "不支持的图片格式 {format}，请使用 JPEG/PNG/WebP/HEIC"
        " / unsupported image format {format}; use JPEG, PNG, WebP or HEIC"
    ),
    RejectCode.TOO_LARGE: (
        "图片文件过大（上限 {limit_mb} MB）/ photo file too large (limit {limit_mb} MB)"
    ),
    RejectCode.TOO_MANY_PIXELS: (
        "图片像素过多（上限 {limit_mp} 百万像素）/ image has too many pixels"
        " (limit {limit_mp} megapixels)"
    ),
    RejectCode.CORRUPT: "图片已损坏或不完整 / image is corrupt or truncated",
}


class PhotoRejected(ValueError):
    """An upload that is not an acceptable photo. `code` is for machines (a `RejectCode`), the
    message (Chinese, then English) is for the officer."""

    def __init__(self, code: RejectCode, **params: object) -> None:
        self.code = code
        self.message = _MESSAGES[code].format(**params)
        super().__init__(self.message)


@dataclass(frozen=True)
class ProcessedPhoto:
    """One validated photo: the three files' bytes and the evidence read from the original.

    `width`/`height` are the original's, upright (after its EXIF orientation). `taken_at` is
    aware; `taken_at_assumed_tz` says its zone was not in the file and `ASSUMED_TZ` was used.
    `filename` is the client's name, for display only: nothing is decided from it.
    """

    sha256: str
    format: str  # "JPEG" | "PNG" | "WEBP" | "HEIF", from the content
    extension: str  # "jpg" | "png" | "webp" | "heic", for the original's storage name
    content_type: str  # of the original
    width: int
    height: int
    public_width: int
    public_height: int
    taken_at: datetime | None
    taken_at_assumed_tz: bool
    gps_lon: float | None
    gps_lat: float | None
    camera: str
    filename: str
    original: bytes = field(repr=False)
    public: bytes = field(repr=False)
    thumbnail: bytes = field(repr=False)


@dataclass(frozen=True)
class StoredPhoto:
    """Storage names of one photo's files; `written` lists those this call actually wrote."""

    original_name: str
    public_name: str
    thumbnail_name: str
    written: tuple[str, ...]


@dataclass(frozen=True)
class _Format:
    pillow: str
    extension: str
    content_type: str


_ACCEPTED = {
    "JPEG": _Format("JPEG", "jpg", "image/jpeg"),
    "PNG": _Format("PNG", "png", "image/png"),
    "WEBP": _Format("WEBP", "webp", "image/webp"),
    "HEIF": _Format("HEIF", "heic", "image/heic"),
}
_HEVC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
# Recognised only to say "unsupported format X" rather than "not an image".
_OTHER_IMAGES = (
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF/RAW"),
    (b"MM\x00*", "TIFF/RAW"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"8BPS", "PSD"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"\xff\x0a", "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL ", "JPEG XL"),
)


# --- Validation and processing ----------------------------------------------------------------


def process_photo(
    data: bytes | IO[bytes],
    *,
    filename: str = "",
    max_bytes: int = MAX_BYTES,
    max_pixels: int = MAX_PIXELS,
    public_max_side: int = PUBLIC_MAX_SIDE,
    thumb_max_side: int = THUMB_MAX_SIDE,
    jpeg_quality: int = JPEG_QUALITY,
) -> ProcessedPhoto:
    """Validate one uploaded photo by its content and make its public copy and thumbnail.

    Checks, in order: size in bytes (`too_large`; a file-like is read to at most
    `max_bytes` + 1 bytes), magic bytes (`not_an_image`, `unsupported_format`), the header's
    width × height before decoding (`too_many_pixels`), then a full decode (`corrupt`).
    Raises `PhotoRejected`; returns the result with nothing written anywhere.
    """
    original = _read_limited(data, max_bytes)
    fmt = _ACCEPTED[_sniff(original)]
    with _bombs_are_errors(max_pixels):
        image = _open(original, fmt.pillow, max_pixels)
        exif = _exif(image)
        orientation = _orientation(exif)
        width, height = _upright_size(image, orientation)
        upright = _decode_upright(image, orientation, public_max_side)
    evidence = _evidence(exif)
    # Resize before flattening and colour conversion: those then work on ≤ 4 MP, not 40.
    resized = _resizable(upright)
    resized.thumbnail((public_max_side, public_max_side), Image.Resampling.LANCZOS)
    public_image = _web_rgb(resized)
    thumb_image = public_image.copy()
    thumb_image.thumbnail((thumb_max_side, thumb_max_side), Image.Resampling.LANCZOS)
    return ProcessedPhoto(
        sha256=hashlib.sha256(original).hexdigest(),
        format=fmt.pillow,
        extension=fmt.extension,
        content_type=fmt.content_type,
        width=width,
        height=height,
        public_width=public_image.width,
        public_height=public_image.height,
        taken_at=evidence.taken_at,
        taken_at_assumed_tz=evidence.taken_at_assumed_tz,
        gps_lon=evidence.lon,
        gps_lat=evidence.lat,
        camera=evidence.camera,
        filename=os.path.basename(filename.replace("\\", "/"))[:255],
        original=original,
        public=_encode_jpeg(public_image, jpeg_quality),
        thumbnail=_encode_jpeg(thumb_image, jpeg_quality),
    )


def _read_limited(data: bytes | IO[bytes], max_bytes: int) -> bytes:
    """The upload's bytes (a file-like from its start); `too_large` past `max_bytes`, without
    reading much further."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
    else:
        if data.seekable():
            data.seek(0)
        raw = data.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise PhotoRejected(RejectCode.TOO_LARGE, limit_mb=_short(max_bytes / 1024 / 1024))
    return raw


def _short(number: float) -> str:
    """15.0 → "15", 0.25 → "0.2": limits in messages."""
    return f"{round(number, 1):g}"


def _sniff(data: bytes) -> str:
    """The accepted format the magic bytes announce, or refuse: `unsupported_format` for
    images we recognise but do not take, `not_an_image` for everything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    brands = _ftyp_brands(data)
    if brands & _HEVC_BRANDS:
        return "HEIF"
    if brands & {b"avif", b"avis"}:
        raise PhotoRejected(RejectCode.UNSUPPORTED_FORMAT, format="AVIF")
    if brands & {b"mif1", b"msf1"}:
        raise PhotoRejected(RejectCode.UNSUPPORTED_FORMAT, format="HEIF (non-HEVC)")
    for magic, name in _OTHER_IMAGES:
        if data.startswith(magic):
            raise PhotoRejected(RejectCode.UNSUPPORTED_FORMAT, format=name)
    if b"<svg" in data[:1024].lower():
        raise PhotoRejected(RejectCode.UNSUPPORTED_FORMAT, format="SVG")
    raise PhotoRejected(RejectCode.NOT_AN_IMAGE)


def _ftyp_brands(data: bytes) -> set[bytes]:
    """Major and compatible brands of an ISO-BMFF `ftyp` box at the start, else empty."""
    if data[4:8] != b"ftyp":
        return set()
    box_end = min(int.from_bytes(data[:4], "big"), len(data), 256)
    brands = {data[8:12]}
    brands.update(data[i : i + 4] for i in range(16, box_end - 3, 4))
    return brands


@contextmanager
def _bombs_are_errors(max_pixels: int) -> Iterator[None]:
    """Pillow's DecompressionBombWarning (and Error) become `too_many_pixels`.

    `warnings.catch_warnings` is process-global; the explicit header check in `_open` does
    not depend on it, so a concurrent thread resetting the filter cannot let a bomb through.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise _too_many_pixels(min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)) from None


def _too_many_pixels(max_pixels: int) -> PhotoRejected:
    return PhotoRejected(RejectCode.TOO_MANY_PIXELS, limit_mp=_short(max_pixels / 1e6))


def _open(data: bytes, pillow_format: str, max_pixels: int) -> Image.Image:
    """Open (header only) with the one plugin the magic bytes chose; refuse more than
    `max_pixels` before anything is decoded. A header Pillow cannot read is `corrupt`."""
    try:
        image = Image.open(io.BytesIO(data), formats=[pillow_format])
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise PhotoRejected(RejectCode.CORRUPT) from None
    if image.width * image.height > max_pixels:
        raise _too_many_pixels(max_pixels)
    return image


def _decode_upright(image: Image.Image, orientation: int, max_side: int) -> Image.Image:
    """Decode (a JPEG at the smallest 1/2, 1/4 or 1/8 scale still ≥ `max_side`) and turn the
    pixels upright.
    Truncated or broken data is `corrupt`.

    Same table as ImageOps.exif_transpose, which is not used because it also re-serialises the
    EXIF into the copy (a failure point on malformed EXIF, for metadata we then discard).
    """
    # Pillow's process-wide switch for accepting truncated files: a library that turns it on
    # (WeasyPrint does, on import) would let half a photo through as evidence. Off, always.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        if image.format in ("JPEG", "MPO"):  # libjpeg's DCT scaling of the image itself
            image.draft(None, (max_side, max_side))
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError):
        raise PhotoRejected(RejectCode.CORRUPT) from None
    method = _TRANSPOSE.get(orientation)
    return image.transpose(method) if method is not None else image


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _orientation(exif: Image.Exif) -> int:
    """EXIF Orientation 1–8 (pillow-heif has already applied and reset it for HEIC)."""
    value = exif.get(ExifTags.Base.Orientation, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _upright_size(image: Image.Image, orientation: int) -> tuple[int, int]:
    """Width and height as displayed: orientations 5–8 swap them."""
    if orientation >= 5:
        return image.height, image.width
    return image.width, image.height


# --- The public copy --------------------------------------------------------------------------


def _resizable(image: Image.Image) -> Image.Image:
    """8 bits per channel in a mode Pillow resizes smoothly (not "P" or "1", which resize by
    nearest neighbour): 16-bit grey is scaled down, not clipped; transparency becomes alpha."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        image = image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if "transparency" in image.info:
        return image.convert("RGBA")
    if image.mode in ("RGB", "RGBA", "L", "LA", "CMYK"):
        return image
    return image.convert("L" if image.mode == "1" else "RGB")


def _web_rgb(image: Image.Image) -> Image.Image:
    """An RGB (or L) image in sRGB with no metadata left in `info`: alpha flattened onto
    white, an embedded ICC profile converted to sRGB and then dropped."""
    if image.mode in ("RGBA", "LA"):
        image = _on_white(image)
    image = _to_srgb(image)
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    image.info = {}  # Pillow's JPEG writer copies some keys (e.g. "comment") from info
    return image


def _on_white(image: Image.Image) -> Image.Image:
    rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    flat = Image.alpha_composite(white, rgba).convert("RGB")
    if "icc_profile" in image.info:
        flat.info["icc_profile"] = image.info["icc_profile"]
    return flat


def _to_srgb(image: Image.Image) -> Image.Image:
    """Convert RGB/CMYK pixels from their embedded ICC profile to sRGB. A profile that cannot
    be read is ignored (the pixels are taken as sRGB), never an error."""
    profile = image.info.get("icc_profile")
    if not profile or image.mode not in ("RGB", "CMYK"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image
    return converted if converted is not None else image


def _encode_jpeg(image: Image.Image, quality: int) -> bytes:
    """Baseline JPEG with no metadata: only the pixels and a JFIF header are written."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


# --- Evidence from EXIF ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Evidence:
    taken_at: datetime | None = None
    taken_at_assumed_tz: bool = False
    lon: float | None = None
    lat: float | None = None
    camera: str = ""


def _exif(image: Image.Image) -> Image.Exif:
    """The original's EXIF; empty when it cannot be parsed (missing evidence, not a bad photo)."""
    try:
        return image.getexif()
    except Exception:  # noqa: BLE001 - Pillow raises many types on malformed EXIF
        return Image.Exif()


def _ifd(exif: Image.Exif, tag: ExifTags.IFD) -> dict[int, Any]:
    try:
        return dict(exif.get_ifd(tag))
    except Exception:  # noqa: BLE001 - as in _exif
        return {}


def _evidence(exif: Image.Exif) -> _Evidence:
    """Time, place and camera from EXIF. Missing or malformed values are None/"", never an
    error."""
    exif_ifd = _ifd(exif, ExifTags.IFD.Exif)
    taken_at, assumed = _exif_time(
        exif_ifd.get(ExifTags.Base.DateTimeOriginal),
        exif_ifd.get(ExifTags.Base.OffsetTimeOriginal),
    )
    lon, lat = _exif_lon_lat(_ifd(exif, ExifTags.IFD.GPSInfo))
    return _Evidence(taken_at, assumed, lon, lat, _camera(exif))


_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")


def _exif_time(value: Any, offset: Any) -> tuple[datetime | None, bool]:
    """DateTimeOriginal ("YYYY:MM:DD HH:MM:SS") made aware with OffsetTimeOriginal
    ("+08:00"); without a valid offset, in `ASSUMED_TZ` and flagged as assumed."""
    try:
        naive = datetime.strptime(_text(value)[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None, False
    match = _OFFSET.match(_text(offset))
    if match is None:
        return naive.replace(tzinfo=ASSUMED_TZ), True
    sign = -1 if match[1] == "-" else 1
    delta = timedelta(hours=int(match[2]), minutes=int(match[3]))
    if delta > timedelta(hours=14):
        return naive.replace(tzinfo=ASSUMED_TZ), True
    return naive.replace(tzinfo=timezone(sign * delta)), False


def _exif_lon_lat(gps: dict[int, Any]) -> tuple[float | None, float | None]:
    """Decimal degrees from the GPS IFD (degrees, minutes, seconds as rationals; S and W are
    negative). Out-of-range, unreadable or exactly (0, 0) — a phone without a fix — is None."""
    lat = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "S")
    lon = _degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "W")
    if lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180 or (lat == 0 and lon == 0):
        return None, None
    return lon, lat


def _degrees(dms: Any, ref: Any, negative_ref: str) -> float | None:
    try:
        parts = [float(part) for part in (dms if isinstance(dms, tuple) else (dms,))]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not 1 <= len(parts) <= 3 or not all(math.isfinite(part) for part in parts):
        return None
    value = sum(part / 60**i for i, part in enumerate(parts))
    return -abs(value) if _text(ref).upper().startswith(negative_ref) else value


def _camera(exif: Image.Exif) -> str:
    """ "Make Model", without repeating a make the model already starts with."""
    make = _text(exif.get(ExifTags.Base.Make))
    model = _text(exif.get(ExifTags.Base.Model))
    if make and model.lower().startswith(make.lower()):
        make = ""
    return " ".join(part for part in (make, model) if part)[:100]


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value.replace("\x00", "").strip() if isinstance(value, str) else ""


# --- Storage -----------------------------------------------------------------------------------


def store_photo(processed: ProcessedPhoto, *, storage: Storage | None = None) -> StoredPhoto:
    """Write the original, public copy and thumbnail under content-hash names:
    `photos/{originals,public,thumbs}/<sha256[:2]>/<sha256>.<ext>`.

    Call it BEFORE the database transaction that saves the row referencing these names
    (R14: files first, row second; orphan files are garbage-collected later). Idempotent: a
    name that already holds a file of the right size is not written again. Touches no database.
    """
    storage = storage if storage is not None else default_storage
    sha, prefix = processed.sha256, processed.sha256[:2]
    files = (
        (f"photos/originals/{prefix}/{sha}.{processed.extension}", processed.original),
        (f"photos/public/{prefix}/{sha}.jpg", processed.public),
        (f"photos/thumbs/{prefix}/{sha}.jpg", processed.thumbnail),
    )
    written = tuple(name for name, data in files if _save_once(storage, name, data))
    return StoredPhoto(
        original_name=files[0][0],
        public_name=files[1][0],
        thumbnail_name=files[2][0],
        written=written,
    )


def _save_once(storage: Storage, name: str, data: bytes) -> bool:
    """Write `data` at exactly `name` unless it is already there; True if written.

    Many requests may store the same picture at once (retries, one photo sent for several cases).
    On the file system the bytes go to a temporary file beside the name, which is then renamed
    onto it (atomic): a name never holds a half-written file, so a file of the right size under it
    is complete, and a file of the wrong size (a write cut short before this rule) is replaced by
    the rename, never deleted first — no other call can find the name missing in between.
    """
    if isinstance(storage, FileSystemStorage):
        return _save_once_on_disk(storage, name, data)
    if storage.exists(name):
        if storage.size(name) == len(data):
            return False
        storage.delete(name)
    saved = storage.save(name, ContentFile(data))
    if saved != name:
        storage.delete(saved)
        return False
    return True


def _save_once_on_disk(storage: FileSystemStorage, name: str, data: bytes) -> bool:
    path = Path(storage.path(name))
    try:
        if path.stat().st_size == len(data):
            return False
    except FileNotFoundError:
        pass
    folder = path.parent
    if storage.directory_permissions_mode is not None:
        folder.mkdir(mode=storage.directory_permissions_mode, parents=True, exist_ok=True)
    else:
        folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, storage.file_permissions_mode or 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return True


# --- Comparing the photo with the report -------------------------------------------------------


def photo_distance_m(processed: ProcessedPhoto, *, lon: float, lat: float) -> float | None:
    """Geodesic distance (WGS84, metres) from the photo's EXIF position to (lon, lat), or None
    when the photo has no position."""
    if processed.gps_lon is None or processed.gps_lat is None:
        return None
    _, _, distance = _GEOD.inv(processed.gps_lon, processed.gps_lat, lon, lat)
    return float(distance)


def compare_evidence(
    processed: ProcessedPhoto,
    *,
    lon: float | None,
    lat: float | None,
    reported_at: datetime,
    max_distance_m: float = 200,
    max_age: timedelta = timedelta(hours=24),
    clock_skew: timedelta = CLOCK_SKEW,
) -> list[str]:
    """Flags (`EvidenceFlag` values) where the photo's EXIF disagrees with the report. A flag is
    for a reviewer; nothing is refused.

    - `no_exif_gps` when the photo has no position; `gps_far` when it is more than
      `max_distance_m` from the report's (lon, lat). No report position: no GPS flag.
    - `no_exif_time` when it has no DateTimeOriginal; `taken_long_before` when it was taken more
      than `max_age` before `reported_at`; `taken_after_report` when more than `clock_skew`
      after it. Pass the device's report time for cases queued offline (R17).
    `reported_at` must be timezone-aware.
    """
    if reported_at.tzinfo is None:
        raise ValueError("reported_at must be timezone-aware")
    return _gps_flags(processed, lon, lat, max_distance_m) + _time_flags(
        processed, reported_at, max_age, clock_skew
    )


def _gps_flags(
    processed: ProcessedPhoto, lon: float | None, lat: float | None, max_distance_m: float
) -> list[str]:
    if processed.gps_lon is None or processed.gps_lat is None:
        return [EvidenceFlag.NO_EXIF_GPS]
    if lon is None or lat is None:
        return []
    distance = photo_distance_m(processed, lon=lon, lat=lat)
    return [EvidenceFlag.GPS_FAR] if distance is not None and distance > max_distance_m else []


def _time_flags(
    processed: ProcessedPhoto, reported_at: datetime, max_age: timedelta, clock_skew: timedelta
) -> list[str]:
    if processed.taken_at is None:
        return [EvidenceFlag.NO_EXIF_TIME]
    age = reported_at - processed.taken_at
    if age > max_age:
        return [EvidenceFlag.TAKEN_LONG_BEFORE]
    if age < -clock_skew:
        return [EvidenceFlag.TAKEN_AFTER_REPORT]
    return []


def photo_record(
    processed: ProcessedPhoto, stored: StoredPhoto, flags: list[str] | None = None
) -> dict:
    """The fields of a `cases.models.Photo` row for a processed and stored photo."""
    return {
        "sha256": processed.sha256,
        "original": stored.original_name,
        "public": stored.public_name,
        "thumbnail": stored.thumbnail_name,
        "format": processed.format,
        "width": processed.width,
        "height": processed.height,
        "size": len(processed.original),
        "taken_at": processed.taken_at,
        "gps_lon": processed.gps_lon,
        "gps_lat": processed.gps_lat,
        "camera": processed.camera[:100],
        "flags": list(flags or []),
    }
