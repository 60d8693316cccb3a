"""Media attachments and what each network accepts of them: kinds, counts, types, sizes and alt text."""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from townhall.publishing import counting
from townhall.publishing.networks import ALIASES, NETWORKS

# Each network's rules name their source (the network's documentation or reference code). Where a page says
# "MB" without saying decimal or binary, the decimal reading is used: it is the stricter one.

MB = 1_000_000
MIB = 1024 * 1024
KINDS = ("image", "gif", "video", "document")
_WORDS = {"image": "image", "gif": "GIF", "video": "video", "document": "document"}
_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/webp": "WebP",
    "video/mp4": "MP4",
    "video/quicktime": "MOV",
    "video/webm": "WebM",
    "application/pdf": "PDF",
}


def kind_of(mime_type: str) -> str:
    """The kind networks sort a file into: an animated-or-not GIF is its own kind on most of them."""
    mime = mime_type.lower()
    if mime == "image/gif":
        return "gif"
    if mime.startswith(("image/", "video/")):
        return mime.split("/")[0]
    return "document"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file for a post, with the description people who cannot see it get instead."""

    mime_type: str
    size: int  # bytes
    filename: str
    alt_text: str = ""
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None

    @property
    def kind(self) -> str:
        return kind_of(self.mime_type)


@dataclass(frozen=True)
class AltText:
    """A network's alt text for one kind: its cap (None where none is documented) and the unit it counts."""

    max_length: int | None = None
    unit: str = "characters"  # or "graphemes"


@dataclass(frozen=True)
class KindRules:
    """What a network accepts of one kind of attachment; `alt_text` None where it takes none."""

    mime_types: frozenset[str] | None  # None: any type
    max_bytes: int | None  # None: no documented cap
    alt_text: AltText | None = None
    max_duration_seconds: float | None = None
    aspect_ratio: tuple[float, float] | None = None  # lowest and highest width / height


@dataclass(frozen=True)
class Combination:
    """Kinds that may share one post, and how many of them it may carry (None: only the post's total cap)."""

    kinds: frozenset[str]
    max_count: int | None


@dataclass(frozen=True)
class MediaRules:
    """A network's media rules for one post; a post's attachments must all fit one of `combinations`."""

    network: str
    kinds: Mapping[str, KindRules]
    combinations: tuple[Combination, ...]
    source: str
    max_attachments: int | None = None
    min_attachments: int = 0


def _types(names: str) -> frozenset[str]:
    return frozenset(names.split())


def _combinations(*groups: tuple[str, int | None]) -> tuple[Combination, ...]:
    return tuple(Combination(frozenset(kinds.split()), count) for kinds, count in groups)


GIF = _types("image/gif")
MP4_MOV = _types("video/mp4 video/quicktime")
_LINKEDIN_DOCUMENTS = _types(
    "application/pdf application/msword application/vnd.ms-powerpoint "
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document "
    "application/vnd.openxmlformats-officedocument.presentationml.presentation"
)
_YOUTUBE_VIDEOS = _types(
    "video/mp4 video/quicktime video/webm video/mpeg video/x-msvideo video/x-ms-wmv video/x-flv video/3gpp"
)

MEDIA_RULES: dict[str, MediaRules] = {
    "x": MediaRules(
        "x",
        {
            "image": KindRules(_types("image/jpeg image/png image/webp"), 5 * MB, AltText(1_000)),
            "gif": KindRules(GIF, 15 * MB, AltText(1_000)),
            # The media metadata endpoint documents alt text for images and GIFs only.
            "video": KindRules(MP4_MOV, 512 * MB, max_duration_seconds=140),
        },
        # The X apps have combined photos, GIFs and videos since 2022; the API docs still give this rule.
        _combinations(("image", 4), ("gif", 1), ("video", 1)),
        "X developer docs, 'Media best practices' (v1.1 media upload): 'up to 4 photos, 1 animated GIF or 1 "
        "video'; images JPG, PNG, WEBP up to 5 MB, GIFs 15 MB, videos MP4 or MOV up to 512 MB and 140 s; "
        "POST media/metadata/create: alt_text up to 1,000 characters",
    ),
    "bluesky": MediaRules(
        "bluesky",
        {
            # The lexicon now describes images 'up to 2 MB, formerly limited to 1 MB' and videos up to 300 MB;
            # a PDS or AppView not yet updated refuses more, so the old caps stay the default (see overrides).
            "image": KindRules(
                _types("image/jpeg image/png image/webp"), 1_000_000, AltText(2_000, "graphemes")
            ),
            # social-app sends a GIF through the video service (presentation "gif"); as an image blob it would
            # show as a still.
            "gif": KindRules(GIF, 100 * MB, AltText(1_000, "graphemes"), max_duration_seconds=180),
            "video": KindRules(
                MP4_MOV | {"video/webm"}, 100 * MB, AltText(1_000, "graphemes"), max_duration_seconds=180
            ),
        },
        _combinations(("image", 4), ("video gif", 1)),
        "lexicon app.bsky.embed.images (up to 4, blob maxSize 1,000,000 bytes; alt has no lexicon cap, "
        "social-app's MAX_ALT_TEXT is 2,000) and app.bsky.embed.video (one, 100,000,000 bytes, alt "
        "maxGraphemes 1,000); a post's embed is one or the other; app.bsky.video.uploadVideo transcodes MP4, "
        "MOV, WebM and GIF, up to 3 minutes since March 2025",
    ),
    "mastodon": MediaRules(
        "mastodon",
        {
            "image": KindRules(
                _types("image/jpeg image/png image/webp image/heic image/heif image/avif"),
                16 * MIB,
                AltText(1_500),
            ),
            # Checked against the image limit before it becomes a looping video (gifv): the stricter reading.
            "gif": KindRules(GIF, 16 * MIB, AltText(1_500)),
            "video": KindRules(MP4_MOV | {"video/webm", "video/ogg"}, 99 * MIB, AltText(1_500)),
        },
        _combinations(("image gif", None), ("video", 1)),
        "Mastodon app/models/media_attachment.rb (IMAGE_LIMIT 16 and VIDEO_LIMIT 99 Rails megabytes, "
        "MAX_DESCRIPTION_LENGTH 1,500) and app/services/post_status_service.rb (4 attachments; a video only "
        "alone); an instance reports its own in GET /api/v2/instance: configuration.media_attachments "
        "(image_size_limit, video_size_limit, supported_mime_types) and statuses.max_media_attachments",
        max_attachments=4,
    ),
    "threads": MediaRules(
        "threads",
        {
            # The 1,000-character cap on alt_text is uncertain: the media pages do not state one.
            "image": KindRules(
                _types("image/jpeg image/png"), 8 * MB, AltText(1_000), aspect_ratio=(0.1, 10)
            ),
            "video": KindRules(MP4_MOV, 1_000 * MB, AltText(1_000), max_duration_seconds=300),
        },
        _combinations(("image video", 20)),
        "Threads API docs (developers.facebook.com/docs/threads), 'Media specifications': images JPEG or PNG "
        "up to 8 MB, aspect ratio up to 10:1; videos MOV or MP4 up to 1 GB and 5 minutes; 'Carousel posts': "
        "up to 20 images and videos (10 before 2025); alt_text",
    ),
    "linkedin": MediaRules(
        "linkedin",
        {
            # The Images API caps pixels (36,152,320), not bytes.
            "image": KindRules(_types("image/jpeg image/png"), None, AltText(4_086)),
            "gif": KindRules(GIF, None, AltText(4_086)),
            "video": KindRules(_types("video/mp4"), 500 * MB, max_duration_seconds=30 * 60),
            "document": KindRules(_LINKEDIN_DOCUMENTS, 100 * MB),
        },
        _combinations(("image gif", 20), ("video", 1), ("document", 1)),
        "LinkedIn Community Management API: Posts API (one image, video or document, or a MultiImage of up "
        "to 20 images; altText up to 4,086 characters), Images API (JPG, PNG, GIF), Videos API (MP4, 3 s "
        "to 30 min, up to 500 MB), Documents API (PDF, PPT(X), DOC(X), up to 100 MB and 300 pages)",
    ),
    "instagram": MediaRules(
        "instagram",
        {
            # alt_text for images arrived in 2025 with no documented length.
            "image": KindRules(_types("image/jpeg"), 8 * MB, AltText(), aspect_ratio=(0.8, 1.91)),
            # Reels' limits; the docs have at times given videos inside a carousel a shorter cap.
            "video": KindRules(MP4_MOV, 300 * MB, max_duration_seconds=15 * 60),
        },
        _combinations(("image video", 10)),
        "Instagram Graph API, 'Content publishing' and IG User Media: JPEG only, up to 8 MB, aspect ratio "
        "4:5 to 1.91:1; reels MOV or MP4 up to 300 MB and 15 minutes; a carousel holds up to 10 images and "
        "videos; every post has media",
        min_attachments=1,
    ),
    "facebook": MediaRules(
        "facebook",
        {
            # alt_text_custom has no documented length.
            "image": KindRules(
                _types("image/jpeg image/png image/webp image/bmp image/tiff"), 4 * MB, AltText()
            ),
            "gif": KindRules(GIF, 4 * MB, AltText()),
            "video": KindRules(MP4_MOV, 10_000 * MB, max_duration_seconds=240 * 60),
        },
        # A feed post's attached_media takes photos only, with no documented maximum; a video is its own post.
        _combinations(("image gif", None), ("video", 1)),
        "Facebook Graph API, Page Photos ('less than 4 MB', JPEG, PNG, GIF, TIFF, BMP, WebP; "
        "alt_text_custom) and Page Feed attached_media; Facebook Help, video specs (10 GB, 240 minutes)",
    ),
    "youtube": MediaRules(
        "youtube",
        # 12 hours once the account is verified, 15 minutes before.
        {"video": KindRules(_YOUTUBE_VIDEOS, 256_000 * MB, max_duration_seconds=12 * 3600)},
        _combinations(("video", 1)),
        "YouTube Data API v3, videos.insert (one video file, video/*); YouTube Help, 'Upload videos longer "
        "than 15 minutes': up to 256 GB or 12 hours; 'Supported YouTube file formats'",
        min_attachments=1,
    ),
    "reddit": MediaRules(
        "reddit",
        {
            # Gallery items take a caption (up to 180 characters), which is not alt text.
            "image": KindRules(_types("image/jpeg image/png"), 20 * MB),
            "gif": KindRules(GIF, 100 * MB),
            "video": KindRules(MP4_MOV, 1_000 * MB, max_duration_seconds=15 * 60),
        },
        _combinations(("image gif", 20), ("video", 1)),
        "Reddit Help, 'What kind of media can I upload?': images JPG or PNG up to 20 MB, GIFs up to 100 MB, "
        "videos MP4 or MOV up to 1 GB and 15 minutes; a gallery holds up to 20 images",
    ),
    # No alt text: since spec v1.10 an m.image's `body` is its filename or a caption.
    "matrix": MediaRules(
        "matrix",
        {kind: KindRules(None, 50 * MIB) for kind in KINDS},
        _combinations(("image gif video document", None)),
        "Matrix spec, Client-Server API, m.image / m.video / m.file: each attachment is its own event; the "
        "size cap is the homeserver's m.upload.size (GET /_matrix/client/v1/media/config), 50 MiB by "
        "default in Synapse (max_upload_size)",
    ),
}


def media_rules(network: str, *, overrides: Mapping[str, Any] | None = None) -> MediaRules:
    """A network's media rules, with what a server reports about itself applied: Mastodon's
    configuration.media_attachments (image_size_limit, video_size_limit, supported_mime_types,
    description_limit) and statuses.max_media_attachments, a Matrix homeserver's m.upload.size.
    Other keys are ignored, so the server's objects can be passed as they are.

    Raises ValueError for an unknown network or an override that is not a positive whole number.
    """
    name = ALIASES.get(network.lower(), network.lower())
    rules = MEDIA_RULES.get(name)
    if rules is None:
        raise ValueError(f"unknown network {network!r}; known networks: {', '.join(sorted(MEDIA_RULES))}")
    if not overrides:
        return rules
    upload = _positive(overrides, "m.upload.size")
    image, video = _positive(overrides, "image_size_limit"), _positive(overrides, "video_size_limit")
    alt, count = _positive(overrides, "description_limit"), _positive(overrides, "max_media_attachments")
    supported = overrides.get("supported_mime_types")
    kinds = {}
    for kind, kind_rules in rules.kinds.items():
        size = {"image": image, "gif": image, "video": video}.get(kind) or upload or kind_rules.max_bytes
        types = kind_rules.mime_types
        if supported is not None:
            types = frozenset(str(m).lower() for m in supported if kind_of(str(m)) == kind)
        alt_text = kind_rules.alt_text
        if alt_text is not None and alt is not None:
            alt_text = replace(alt_text, max_length=alt)
        kinds[kind] = replace(kind_rules, max_bytes=size, mime_types=types, alt_text=alt_text)
    return replace(rules, kinds=kinds, max_attachments=count or rules.max_attachments)


def _positive(overrides: Mapping[str, Any], key: str) -> int | None:
    value = overrides.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{key} must be a positive whole number, not {value!r}")
    return value


def check_media(
    network: str,
    attachments: Sequence[Attachment],
    *,
    require_alt_text: bool = True,
    overrides: Mapping[str, Any] | None = None,
) -> list[str]:
    """What `network` would refuse of one post's attachments, each problem a sentence naming the attachment
    by position and filename; empty when it takes them. Alt text is required wherever the network takes it
    unless `require_alt_text` is off. `overrides` as for `media_rules`.
    """
    rules = media_rules(network, overrides=overrides)
    problems = _check_post(rules, attachments)
    for position, attachment in enumerate(attachments, start=1):
        problems.extend(_check_attachment(rules, position, attachment, require_alt_text=require_alt_text))
    return problems


def _check_post(rules: MediaRules, attachments: Sequence[Attachment]) -> list[str]:
    label = NETWORKS[rules.network].label
    taken = [a for a in attachments if a.kind in rules.kinds]
    problems = []
    if len(taken) < rules.min_attachments:
        kinds = _join([_WORDS[k] for k in KINDS if k in rules.kinds], "or")
        problems.append(f"{label} posts need at least {rules.min_attachments} {kinds}")
    if rules.max_attachments is not None and len(taken) > rules.max_attachments:
        problems.append(
            f"{label} allows up to {rules.max_attachments} attachments per post; this post has {len(taken)}"
        )
    present = {a.kind for a in taken}
    combination = next((c for c in rules.combinations if present <= c.kinds), None)
    if combination is None:
        problems.append(f"{label} allows {_summary(rules)}; this post has {_tally(taken)}")
    elif combination.max_count is not None and len(taken) > combination.max_count:
        problems.append(f"{label} allows {_phrase(rules, combination)} per post; this post has {len(taken)}")
    return problems


def _check_attachment(
    rules: MediaRules, position: int, attachment: Attachment, *, require_alt_text: bool
) -> list[str]:
    label = NETWORKS[rules.network].label
    kind = attachment.kind
    name = f"{_WORDS[kind]} {position} ({attachment.filename})"
    kind_rules = rules.kinds.get(kind)
    if kind_rules is None:
        accepted = _join([_plural(k) for k in KINDS if k in rules.kinds], "and")
        return [f"{name} cannot be posted to {label}, which accepts {accepted} only"]
    problems = []
    accepted_types = kind_rules.mime_types
    if accepted_types is not None and attachment.mime_type.lower() not in accepted_types:
        formats = sorted(_FORMATS.get(m, m) for m in accepted_types)
        accepted = f"as {_join(formats, 'or')}" if formats else "of no type at all"
        shown = _FORMATS.get(attachment.mime_type.lower(), attachment.mime_type)
        problems.append(f"{name} is {shown}; {label} accepts {_plural(kind)} {accepted}")
    if attachment.size <= 0:
        problems.append(f"{name} is empty")
    elif kind_rules.max_bytes is not None and attachment.size > kind_rules.max_bytes:
        size, limit = _sizes(attachment.size, kind_rules.max_bytes)
        problems.append(f"{name} is {size}; {label} accepts {_plural(kind)} up to {limit}")
    longest, duration = kind_rules.max_duration_seconds, attachment.duration_seconds
    if longest is not None and duration is not None and duration > longest:
        problems.append(
            f"{name} runs {_duration(duration)}; {label} accepts {_plural(kind)} up to {_duration(longest)}"
        )
    width, height = attachment.width, attachment.height
    if kind_rules.aspect_ratio and width is not None and height is not None and width > 0 and height > 0:
        low, high = kind_rules.aspect_ratio
        if not low <= width / height <= high:
            problems.append(
                f"{name} is {width}x{height}, an aspect ratio of {width / height:.2f}:1; {label} accepts "
                f"{_plural(kind)} from {low:g}:1 to {high:g}:1"
            )
    alt_text = kind_rules.alt_text
    if alt_text is not None:
        if require_alt_text and not attachment.alt_text.strip():
            problems.append(f"alt text is required for {name}")
        count = counting.graphemes if alt_text.unit == "graphemes" else counting.code_points
        length, most = count(attachment.alt_text), alt_text.max_length
        if most is not None and length > most:
            problems.append(f"the alt text of {name} is {length:,} {alt_text.unit}; {label} allows {most:,}")
    return problems


def describe(network: str, *, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A network's media rules for the editor, JSON-ready."""
    rules = media_rules(network, overrides=overrides)
    return {
        "network": rules.network,
        "label": NETWORKS[rules.network].label,
        "summary": _summary(rules),
        "required": rules.min_attachments > 0,
        "min_attachments": rules.min_attachments,
        "max_attachments": rules.max_attachments,
        "combinations": [
            {"kinds": [k for k in KINDS if k in c.kinds], "max_count": c.max_count}
            for c in rules.combinations
        ],
        "kinds": {
            kind: {
                "mime_types": None if r.mime_types is None else sorted(r.mime_types),
                "max_bytes": r.max_bytes,
                "max_duration_seconds": r.max_duration_seconds,
                "aspect_ratio": None if r.aspect_ratio is None else list(r.aspect_ratio),
                "alt_text": r.alt_text is not None,
                "alt_text_max": r.alt_text and r.alt_text.max_length,
                "alt_text_unit": r.alt_text and r.alt_text.unit,
            }
            for kind, r in rules.kinds.items()
        },
        "source": rules.source,
    }


# -- wording -------------------------------------------------------------------------------------------


def _plural(kind: str) -> str:
    return _WORDS[kind] + "s"


def _join(words: Sequence[str], conjunction: str) -> str:
    return words[0] if len(words) < 2 else f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def _phrase(rules: MediaRules, combination: Combination) -> str:
    kinds = [k for k in KINDS if k in combination.kinds]
    count = combination.max_count or rules.max_attachments
    if count is None:
        return f"any number of {_join([_plural(k) for k in kinds], 'or')}"
    if count == 1:
        return f"1 {_join([_WORDS[k] for k in kinds], 'or')}"
    return f"up to {count} {_join([_plural(k) for k in kinds], 'or')}"


def _tally(attachments: Sequence[Attachment]) -> str:
    counts = [(kind, sum(1 for a in attachments if a.kind == kind)) for kind in KINDS]
    return _join([f"{n} {_WORDS[k] if n == 1 else _plural(k)}" for k, n in counts if n], "and")


def _summary(rules: MediaRules) -> str:
    phrases = [_phrase(rules, c) for c in rules.combinations]
    return ", or ".join(phrases) + (", not mixed" if len(phrases) > 1 else "")


def _sizes(size: int, limit: int) -> tuple[str, str]:
    """Both sizes in the limit's own units (MiB for a binary limit), exact bytes where rounding hides the
    difference."""
    binary = limit % MIB == 0
    shown = _size(size, binary=binary), _size(limit, binary=binary)
    return shown if shown[0] != shown[1] else (f"{size:,} bytes", f"{limit:,} bytes")


def _size(size: int, *, binary: bool) -> str:
    step = 1024 if binary else 1000
    value, unit = float(size), "bytes"
    for larger in ("KiB", "MiB", "GiB", "TiB") if binary else ("KB", "MB", "GB", "TB"):
        if value < step:
            break
        value, unit = value / step, larger
    return f"{size:,} bytes" if unit == "bytes" else f"{value:,.1f}".removesuffix(".0") + f" {unit}"


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return f"{seconds} s"
    hours, rest = divmod(round(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n} {unit}" for n, unit in ((hours, "h"), (minutes, "min"), (secs, "s")) if n]
    return " ".join(parts) or f"{seconds:g} s"


# -- uploads -------------------------------------------------------------------------------------------

# ISO base media brands of MP4 video; HEIC, AVIF and M4A share the container and are not video.
_MP4_BRANDS = frozenset(b"isom iso2 iso4 iso5 iso6 mp41 mp42 avc1 M4V dash mmp4".split())


def sniff_mime_type(content: bytes) -> str | None:
    """The type the bytes' magic number says, whatever the file is called; None when it is none we know."""
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if content.startswith(b"RIFF") and content[8:12] == b"WEBP":
        return "image/webp"
    if content[4:8] == b"ftyp":
        brand = content[8:12].rstrip(b" ")
        return "video/quicktime" if brand == b"qt" else "video/mp4" if brand in _MP4_BRANDS else None
    if content.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in content[:64]:
        return "video/webm"
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def attachment_from_upload(filename: str, content: bytes, alt_text: str = "") -> Attachment:
    """An attachment from an uploaded file, its type read from its content and, for images, its size in
    pixels from its header.

    Raises ValueError for empty content or a type that is not PNG, JPEG, GIF, WebP, MP4, MOV, WebM or PDF.
    """
    if not content:
        raise ValueError(f"{filename} is empty")
    mime_type = sniff_mime_type(content)
    if mime_type is None:
        raise ValueError(
            f"{filename} is not a PNG, JPEG, GIF or WebP image, an MP4, MOV or WebM video, or a PDF "
            "(the type is read from the file's content, not its name)"
        )
    width, height = _dimensions(mime_type, content) or (None, None)
    return Attachment(mime_type, len(content), filename, alt_text, width=width, height=height)


def _dimensions(mime_type: str, data: bytes) -> tuple[int, int] | None:
    """Width and height as the header stores them (a JPEG's EXIF orientation may turn them)."""
    size: tuple[int, int] | None = None
    if mime_type == "image/png" and len(data) >= 24 and data[12:16] == b"IHDR":
        size = struct.unpack(">II", data[16:24])
    elif mime_type == "image/gif" and len(data) >= 10:
        size = struct.unpack("<HH", data[6:10])
    elif mime_type == "image/webp":
        size = _webp_dimensions(data)
    elif mime_type == "image/jpeg":
        size = _jpeg_dimensions(data)
    return size if size and size[0] > 0 and size[1] > 0 else None


def _webp_dimensions(data: bytes) -> tuple[int, int] | None:
    chunk, body = data[12:16], data[20:30]  # the first chunk's name, then the start of its payload
    if chunk == b"VP8X" and len(body) >= 10:
        return int.from_bytes(body[4:7], "little") + 1, int.from_bytes(body[7:10], "little") + 1
    if chunk == b"VP8L" and len(body) >= 5 and body[0] == 0x2F:
        bits = int.from_bytes(body[1:5], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and len(body) >= 10 and body[3:6] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", body[6:10])
        return width & 0x3FFF, height & 0x3FFF
    return None


def _jpeg_dimensions(data: bytes) -> tuple[int, int] | None:
    """From the first start-of-frame segment, walking the segments that come before it."""
    at = 2
    while at + 9 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
        elif marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # markers without a length
            at += 2
        elif 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        elif marker == 0xDA:  # image data: no frame header before it
            return None
        else:
            at += 2 + struct.unpack(">H", data[at + 2 : at + 4])[0]
    return None
