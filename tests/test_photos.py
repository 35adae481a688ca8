"""Photo evidence (cases/photos.py): validation by content, pixel and byte limits, EXIF evidence,
upright and stripped public copies, content-hash storage, comparison with the report.

Pure tests: images are made in memory with Pillow, storage is a FileSystemStorage in tmp_path,
and nothing touches the database (pytest-django would fail a test that tried).
"""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image, ImageCms, ImageFile
from PIL.TiffImagePlugin import IFDRational

from cases.photos import (
    ASSUMED_TZ,
    PhotoRejected,
    ProcessedPhoto,
    compare_evidence,
    photo_distance_m,
    process_photo,
    store_photo,
)

CST = timezone(timedelta(hours=8))
TAKEN = datetime(2026, 5, 1, 9, 30, tzinfo=CST)
# Suzhou Industrial Park: 31°18'3.6"N 120°43'12"E.
LAT, LON = 31.301, 120.72
RED, WHITE = (255, 0, 0), (255, 255, 255)
# APP1 (EXIF/XMP), APP2 (ICC), APP13 (IPTC/Photoshop), COM: none may reach a public copy.
METADATA_MARKERS = {0xE1, 0xE2, 0xED, 0xFE}


# --- Building test images -----------------------------------------------------------------------


def _exif(
    *,
    orientation: int = 1,
    taken: str | None = "2026:05:01 09:30:00",
    offset: str | None = "+08:00",
    lat: tuple[str, tuple] | None = ("N", (31, 18, 3.6)),
    lon: tuple[str, tuple] | None = ("E", (120, 43, 12)),
) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "HUAWEI"
    exif[ExifTags.Base.Model] = "HUAWEI P60"
    exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
    if taken:
        exif_ifd[ExifTags.Base.DateTimeOriginal] = taken
    if offset:
        exif_ifd[ExifTags.Base.OffsetTimeOriginal] = offset
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    if lat:
        gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = lat
    if lon:
        gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = lon
    return exif


def _landscape_with_red_corner() -> Image.Image:
    """400×200 as stored by the sensor, red block in the top-left corner."""
    image = Image.new("RGB", (400, 200), WHITE)
    image.paste(RED, (0, 0, 100, 50))
    return image


def _encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def _phone_jpeg(*, icc: bool = True, **exif_args: object) -> bytes:
    """A phone-like JPEG: EXIF with GPS and time, XMP, a comment and (by default) an ICC
    profile."""
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return _encode(
        _landscape_with_red_corner(),
        "JPEG",
        exif=_exif(**exif_args),  # type: ignore[arg-type]
        xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/">officer 0042</x:xmpmeta>',
        comment=b"IMEI 356938035643809",
        **({"icc_profile": srgb} if icc else {}),
    )


def _bilevel_png(width: int, height: int) -> bytes:
    """A valid, all-black 1-bit PNG built by hand, so a huge one costs little to make."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    row = b"\x00" + bytes((width + 7) // 8)
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    pixels = zlib.compress(row * height, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _jpeg_markers(data: bytes) -> list[int]:
    """The marker of every segment before the image data (SOS)."""
    markers, i = [], 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        markers.append(marker)
        if marker == 0xDA:
            break
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return markers


def _near(pixel: object, expected: tuple[int, int, int], tolerance: int = 30) -> bool:
    assert isinstance(pixel, tuple)
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


def _rejection(data: bytes, **kwargs: object) -> PhotoRejected:
    with pytest.raises(PhotoRejected) as caught:
        process_photo(data, **kwargs)  # type: ignore[arg-type]
    return caught.value


@pytest.fixture(scope="module")
def phone_photo() -> ProcessedPhoto:
    return process_photo(_phone_jpeg(orientation=6), filename="IMG_20260501_093000.jpg")


# --- Evidence ------------------------------------------------------------------------------------


def test_exif_time_place_and_camera_are_read(phone_photo: ProcessedPhoto) -> None:
    assert phone_photo.taken_at == TAKEN
    assert phone_photo.taken_at_assumed_tz is False
    assert phone_photo.gps_lat == pytest.approx(LAT, abs=1e-9)
    assert phone_photo.gps_lon == pytest.approx(LON, abs=1e-9)
    assert phone_photo.camera == "HUAWEI P60"


def test_original_is_kept_byte_for_byte_with_its_hash(phone_photo: ProcessedPhoto) -> None:
    original = _phone_jpeg(orientation=6)
    assert phone_photo.original == original
    assert phone_photo.sha256 == hashlib.sha256(original).hexdigest()
    assert (phone_photo.format, phone_photo.extension) == ("JPEG", "jpg")
    assert phone_photo.content_type == "image/jpeg"
    assert phone_photo.filename == "IMG_20260501_093000.jpg"


def test_size_is_reported_upright(phone_photo: ProcessedPhoto) -> None:
    assert (phone_photo.width, phone_photo.height) == (200, 400)


def test_southern_and_western_rational_coordinates_are_negative() -> None:
    photo = process_photo(
        _phone_jpeg(
            lat=("S", (IFDRational(33, 1), IFDRational(51, 1), IFDRational(3600, 100))),
            lon=("W", (IFDRational(70, 1), IFDRational(3, 2), IFDRational(0, 1))),
        )
    )
    assert photo.gps_lat == pytest.approx(-(33 + 51 / 60 + 36 / 3600))
    assert photo.gps_lon == pytest.approx(-(70 + 1.5 / 60))


def test_time_without_offset_is_taken_as_shanghai_and_says_so() -> None:
    photo = process_photo(_phone_jpeg(offset=None))
    assert photo.taken_at == datetime(2026, 5, 1, 9, 30, tzinfo=ASSUMED_TZ)
    assert photo.taken_at == TAKEN
    assert photo.taken_at_assumed_tz is True
    assert ASSUMED_TZ == ZoneInfo("Asia/Shanghai")


def test_a_photo_without_exif_has_no_evidence() -> None:
    photo = process_photo(_encode(Image.new("RGB", (60, 40), WHITE), "JPEG"))
    assert (photo.taken_at, photo.gps_lon, photo.gps_lat, photo.camera) == (None, None, None, "")
    assert photo.taken_at_assumed_tz is False


@pytest.mark.parametrize(
    "exif_args",
    [
        {"taken": "0000:00:00 00:00:00"},
        {"taken": "    :  :     :  :  "},
        {"lat": ("N", (0, 0, 0)), "lon": ("E", (0, 0, 0))},  # a phone without a fix
        {"lat": ("N", (IFDRational(31, 0), 0, 0))},
        {"lat": ("N", (95, 0, 0))},
    ],
)
def test_garbage_exif_values_are_missing_evidence_not_errors(exif_args: dict) -> None:
    photo = process_photo(_phone_jpeg(**exif_args))
    if "taken" in exif_args:
        assert (photo.taken_at, photo.gps_lat) == (None, pytest.approx(LAT))
    else:
        assert (photo.taken_at, photo.gps_lat, photo.gps_lon) == (TAKEN, None, None)


# --- Public copy and thumbnail ---------------------------------------------------------------------


def test_public_copy_is_turned_upright(phone_photo: ProcessedPhoto) -> None:
    public = Image.open(io.BytesIO(phone_photo.public))
    assert public.format == "JPEG"
    assert public.size == (200, 400) == (phone_photo.public_width, phone_photo.public_height)
    # Orientation 6: the stored image is turned 90° clockwise, its top-left corner goes top-right.
    assert _near(public.getpixel((175, 25)), RED)
    assert _near(public.getpixel((25, 25)), WHITE)
    assert _near(public.getpixel((175, 375)), WHITE)


@pytest.mark.parametrize("icc", [True, False])
def test_public_copy_and_thumbnail_carry_no_metadata(icc: bool) -> None:
    photo = process_photo(_phone_jpeg(icc=icc, orientation=6))
    for data in (photo.public, photo.thumbnail):
        reopened = Image.open(io.BytesIO(data))
        assert len(reopened.getexif()) == 0
        assert not {"exif", "icc_profile", "xmp", "comment"} & reopened.info.keys()
        assert not METADATA_MARKERS & set(_jpeg_markers(data))
        for secret in (b"HUAWEI", b"officer 0042", b"IMEI", b"Exif"):
            assert secret not in data


def test_public_copy_is_at_most_2048_and_thumbnail_at_most_320() -> None:
    photo = process_photo(_encode(Image.new("RGB", (4000, 3000), RED), "JPEG", quality=50))
    assert (photo.public_width, photo.public_height) == (2048, 1536)
    thumb = Image.open(io.BytesIO(photo.thumbnail))
    assert thumb.size == (320, 240)
    assert (photo.width, photo.height) == (4000, 3000)


def test_small_photos_are_not_enlarged() -> None:
    photo = process_photo(_encode(Image.new("RGB", (100, 80), RED), "PNG"))
    assert (photo.public_width, photo.public_height) == (100, 80)
    assert Image.open(io.BytesIO(photo.thumbnail)).size == (100, 80)


def test_png_with_alpha_is_flattened_on_white() -> None:
    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (0, 0, 32, 64))
    photo = process_photo(_encode(image, "PNG"))
    assert (photo.format, photo.extension, photo.content_type) == ("PNG", "png", "image/png")
    public = Image.open(io.BytesIO(photo.public))
    assert public.mode == "RGB"
    assert _near(public.getpixel((48, 32)), WHITE)
    assert _near(public.getpixel((16, 32)), RED)


def test_palette_png_with_transparency_is_flattened_on_white() -> None:
    image = Image.new("P", (32, 32), 0)
    image.putpalette([0, 0, 0] + [255, 0, 0] * 255)
    photo = process_photo(_encode(image, "PNG", transparency=0))
    assert _near(Image.open(io.BytesIO(photo.public)).getpixel((5, 5)), WHITE)


def test_16_bit_grayscale_is_scaled_to_8_bit() -> None:
    image = Image.new("I;16", (32, 32), 32768)
    photo = process_photo(_encode(image, "PNG"))
    public = Image.open(io.BytesIO(photo.public))
    assert public.mode == "L"
    pixel = public.getpixel((16, 16))
    assert isinstance(pixel, int) and abs(pixel - 128) <= 2


def test_webp_is_accepted() -> None:
    photo = process_photo(_encode(_landscape_with_red_corner(), "WEBP", exif=_exif(orientation=6)))
    assert (photo.format, photo.extension, photo.content_type) == ("WEBP", "webp", "image/webp")
    assert photo.taken_at == TAKEN
    assert Image.open(io.BytesIO(photo.public)).size == (200, 400)


def test_heic_is_accepted_with_its_exif() -> None:
    data = _encode(_landscape_with_red_corner(), "HEIF", exif=_exif(orientation=6).tobytes())
    photo = process_photo(data, filename="IMG_0001.HEIC")
    assert (photo.format, photo.extension, photo.content_type) == ("HEIF", "heic", "image/heic")
    assert photo.taken_at == TAKEN
    assert photo.gps_lat == pytest.approx(LAT)
    public = Image.open(io.BytesIO(photo.public))
    assert public.size == (200, 400)
    assert _near(public.getpixel((175, 25)), RED, tolerance=60)
    assert len(public.getexif()) == 0


# --- Refusals ------------------------------------------------------------------------------------


def test_content_decides_not_the_name_or_declared_type() -> None:
    upload = SimpleUploadedFile("photo.png", _phone_jpeg(), content_type="text/plain")
    assert process_photo(upload, filename="photo.png").format == "JPEG"


def test_a_text_file_named_photo_jpg_is_not_an_image() -> None:
    upload = SimpleUploadedFile("photo.jpg", b"Hello, this is not a photo.\n", "image/jpeg")
    with pytest.raises(PhotoRejected) as caught:
        process_photo(upload, filename="photo.jpg")
    assert caught.value.code == "not_an_image"
    assert isinstance(caught.value, ValueError)
    message = str(caught.value)
    assert message.index("文件不是图片") < message.index("not an image")


@pytest.mark.parametrize(("fmt", "name"), [("GIF", "GIF"), ("BMP", "BMP"), ("TIFF", "TIFF/RAW")])
def test_other_image_formats_are_unsupported(fmt: str, name: str) -> None:
    rejected = _rejection(_encode(Image.new("RGB", (16, 16), RED), fmt))
    assert rejected.code == "unsupported_format"
    assert name in str(rejected)


def test_oversize_bytes_are_too_large() -> None:
    assert _rejection(b"\xff\xd8\xff" + bytes(15 * 1024 * 1024)).code == "too_large"
    assert _rejection(_phone_jpeg(), max_bytes=1000).code == "too_large"


def test_an_oversize_upload_is_not_read_to_the_end() -> None:
    stream = io.BytesIO(bytes(50 * 1024 * 1024))
    with pytest.raises(PhotoRejected) as caught:
        process_photo(stream)
    assert caught.value.code == "too_large"
    assert stream.tell() == 15 * 1024 * 1024 + 1
    assert "15 MB" in str(caught.value)


@pytest.mark.parametrize(
    "size",
    [
        (10000, 10000),  # 100 MP: Pillow only warns (> 89 MP); the warning is an error here
        (8000, 6000),  # 48 MP: under Pillow's limit, over ours
        (20000, 10000),  # 200 MP: Pillow's own DecompressionBombError
    ],
)
def test_too_many_pixels_is_refused_from_the_header_without_decoding(
    size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _bilevel_png(*size)
    assert len(data) < 100_000

    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("a too-large image was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    rejected = _rejection(data)
    assert rejected.code == "too_many_pixels"
    assert "40" in str(rejected)


def test_pillows_bomb_warning_is_an_error_even_under_a_higher_cap() -> None:
    rejected = _rejection(_bilevel_png(10000, 10000), max_pixels=150_000_000)
    assert rejected.code == "too_many_pixels"
    assert "89.5" in str(rejected)  # Pillow's limit, the one that refused


def test_the_pixel_cap_can_be_lowered() -> None:
    assert _rejection(_phone_jpeg(), max_pixels=200 * 399).code == "too_many_pixels"
    assert process_photo(_phone_jpeg(), max_pixels=200 * 400).width == 400


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_truncated_data_is_corrupt(fmt: str) -> None:
    noise = Image.merge("RGB", [Image.effect_noise((256, 256), 80)] * 3)
    data = _encode(noise, fmt)
    assert _rejection(data[: len(data) // 2]).code == "corrupt"


def test_a_bare_jpeg_signature_is_corrupt() -> None:
    assert _rejection(b"\xff\xd8\xff\xe0" + bytes(20)).code == "corrupt"


# --- Storage -------------------------------------------------------------------------------------


def test_store_photo_writes_three_files_under_content_hash_names(
    phone_photo: ProcessedPhoto, tmp_path
) -> None:
    storage = FileSystemStorage(location=tmp_path)
    stored = store_photo(phone_photo, storage=storage)
    sha = phone_photo.sha256
    assert stored.original_name == f"photos/originals/{sha[:2]}/{sha}.jpg"
    assert stored.public_name == f"photos/public/{sha[:2]}/{sha}.jpg"
    assert stored.thumbnail_name == f"photos/thumbs/{sha[:2]}/{sha}.jpg"
    assert stored.written == (stored.original_name, stored.public_name, stored.thumbnail_name)
    assert (tmp_path / stored.original_name).read_bytes() == phone_photo.original
    assert (tmp_path / stored.public_name).read_bytes() == phone_photo.public
    assert (tmp_path / stored.thumbnail_name).read_bytes() == phone_photo.thumbnail


def test_store_photo_again_writes_nothing(phone_photo: ProcessedPhoto, tmp_path) -> None:
    storage = FileSystemStorage(location=tmp_path)
    first = store_photo(phone_photo, storage=storage)
    files_before = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    mtimes = [p.stat().st_mtime_ns for p in files_before]

    second = store_photo(replace(phone_photo, filename="resent.jpg"), storage=storage)

    assert second.written == ()
    assert (second.original_name, second.public_name) == (first.original_name, first.public_name)
    files_after = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert files_after == files_before
    assert [p.stat().st_mtime_ns for p in files_after] == mtimes


def test_store_photo_replaces_a_file_cut_short(phone_photo: ProcessedPhoto, tmp_path) -> None:
    storage = FileSystemStorage(location=tmp_path)
    name = f"photos/originals/{phone_photo.sha256[:2]}/{phone_photo.sha256}.jpg"
    storage.save(name, io.BytesIO(phone_photo.original[:100]))

    stored = store_photo(phone_photo, storage=storage)

    assert name in stored.written
    assert (tmp_path / name).read_bytes() == phone_photo.original
    assert len(list((tmp_path / name).parent.iterdir())) == 1


def test_the_same_photo_stored_by_many_requests_at_once(
    phone_photo: ProcessedPhoto, tmp_path
) -> None:
    """Twenty requests storing the same picture at the same moment (a crew sending one photo for
    several cases; retries): every call returns, and each name holds the whole file, once. Found by
    the embedded-stack run: a call that saw another's file half written deleted it, and a third
    call asking that file's size met no file at all (FileNotFoundError, a 500 on feedback)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    storage = FileSystemStorage(location=tmp_path)
    # A new picture each round (its own content hash), big enough to be seen half written.
    pictures = []
    for n in range(60):
        original = phone_photo.original * 200 + n.to_bytes(4, "big")
        pictures.append(
            replace(phone_photo, original=original, sha256=hashlib.sha256(original).hexdigest())
        )
    start = threading.Barrier(20)

    def store(_) -> None:
        for picture in pictures:
            start.wait(timeout=30)  # all twenty at once, on a name nobody has written yet
            try:
                store_photo(picture, storage=storage)
            except BaseException:
                start.abort()  # the others stop waiting (BrokenBarrierError) instead of hanging
                raise

    with ThreadPoolExecutor(20) as pool:
        calls = [pool.submit(store, n) for n in range(20)]
    errors = [call.exception() for call in calls if call.exception() is not None]
    causes = [e for e in errors if not isinstance(e, threading.BrokenBarrierError)]
    assert not errors, causes or errors
    names = []
    for picture in pictures:
        stored = store_photo(picture, storage=storage)
        assert stored.written == ()
        assert (tmp_path / stored.original_name).read_bytes() == picture.original
        assert (tmp_path / stored.public_name).read_bytes() == picture.public
        names += [stored.original_name, stored.public_name, stored.thumbnail_name]
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert files == sorted(set(names))  # no temporary or second copy left


# --- Comparison with the report ------------------------------------------------------------------


def test_a_photo_taken_here_and_now_raises_no_flag(phone_photo: ProcessedPhoto) -> None:
    flags = compare_evidence(
        phone_photo, lon=LON + 0.0005, lat=LAT, reported_at=TAKEN + timedelta(minutes=20)
    )
    assert flags == []


def test_a_photo_taken_far_away_is_flagged(phone_photo: ProcessedPhoto) -> None:
    flags = compare_evidence(phone_photo, lon=LON + 0.01, lat=LAT, reported_at=TAKEN)
    assert flags == ["gps_far"]
    assert photo_distance_m(phone_photo, lon=LON + 0.01, lat=LAT) == pytest.approx(951, abs=5)
    assert (
        compare_evidence(
            phone_photo, lon=LON + 0.01, lat=LAT, reported_at=TAKEN, max_distance_m=1000
        )
        == []
    )


def test_a_report_without_position_gets_no_gps_flag(phone_photo: ProcessedPhoto) -> None:
    assert compare_evidence(phone_photo, lon=None, lat=None, reported_at=TAKEN) == []


def test_an_old_photo_is_flagged(phone_photo: ProcessedPhoto) -> None:
    reported = TAKEN + timedelta(days=3)
    assert compare_evidence(phone_photo, lon=LON, lat=LAT, reported_at=reported) == [
        "taken_long_before"
    ]
    assert (
        compare_evidence(
            phone_photo, lon=LON, lat=LAT, reported_at=reported, max_age=timedelta(days=7)
        )
        == []
    )


def test_a_photo_taken_after_the_report_is_flagged(phone_photo: ProcessedPhoto) -> None:
    reported = TAKEN - timedelta(hours=2)
    flags = compare_evidence(phone_photo, lon=LON, lat=LAT, reported_at=reported)
    assert flags == ["taken_after_report"]
    skew = TAKEN - timedelta(minutes=5)
    assert compare_evidence(phone_photo, lon=LON, lat=LAT, reported_at=skew) == []


def test_a_photo_without_exif_is_flagged_not_refused(phone_photo: ProcessedPhoto) -> None:
    bare = replace(phone_photo, taken_at=None, gps_lon=None, gps_lat=None)
    flags = compare_evidence(bare, lon=LON, lat=LAT, reported_at=TAKEN)
    assert flags == ["no_exif_gps", "no_exif_time"]


def test_compare_evidence_needs_an_aware_report_time(phone_photo: ProcessedPhoto) -> None:
    with pytest.raises(ValueError):
        compare_evidence(phone_photo, lon=LON, lat=LAT, reported_at=datetime(2026, 5, 1, 10))
