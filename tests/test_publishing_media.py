"""Media attachments: each network's counts, types, sizes and alt text, and uploads typed by their content."""

from __future__ import annotations

import json
import re
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from townhall.publishing.media import (
    MB,
    MEDIA_RULES,
    MIB,
    Attachment,
    attachment_from_upload,
    check_media,
    describe,
    kind_of,
)
from townhall.publishing.networks import NETWORKS


def image(name: str = "photo.png", size: int = 1_000, alt: str = "a chart", **more: int) -> Attachment:
    mime = {"jpg": "image/jpeg", "webp": "image/webp"}.get(name.rsplit(".", 1)[-1], "image/png")
    return Attachment(mime, size, name, alt, **more)


def gif(name: str = "loop.gif", size: int = 1_000, alt: str = "a cat") -> Attachment:
    return Attachment("image/gif", size, name, alt)


def video(name: str = "clip.mp4", size: int = 1_000, alt: str = "a talk", seconds: float = 10) -> Attachment:
    return Attachment("video/mp4", size, name, alt, duration_seconds=seconds)


def document(name: str = "report.pdf", size: int = 1_000) -> Attachment:
    return Attachment("application/pdf", size, name)


# -- the rules themselves ------------------------------------------------------------------------------


def test_every_network_has_media_rules_with_a_source() -> None:
    assert set(MEDIA_RULES) == set(NETWORKS)
    for name, rules in MEDIA_RULES.items():
        assert rules.network == name
        assert rules.source
        for combination in rules.combinations:
            assert combination.kinds <= set(rules.kinds), name


def test_describe_is_json_for_every_network() -> None:
    for name in MEDIA_RULES:
        summary = describe(name)
        assert json.loads(json.dumps(summary)) == summary
        assert summary["network"] == name
        assert summary["label"] == NETWORKS[name].label
    assert describe("twitter")["summary"] == "up to 4 images, or 1 GIF, or 1 video, not mixed"
    assert describe("instagram")["required"] is True
    assert describe("bluesky")["kinds"]["image"]["max_bytes"] == 1_000_000


def test_an_unknown_network_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown network 'myspace'"):
        check_media("myspace", [])


def test_kinds_come_from_the_mime_type() -> None:
    assert [
        kind_of(m) for m in ("image/png", "IMAGE/GIF", "video/webm", "application/pdf", "audio/mpeg")
    ] == [
        "image",
        "gif",
        "video",
        "document",
        "document",
    ]


# -- X -------------------------------------------------------------------------------------------------


def test_x_takes_four_images_or_one_gif_or_one_video_not_mixed() -> None:
    assert check_media("x", [image(f"{i}.png") for i in range(4)]) == []
    assert check_media("twitter", [video()]) == []
    assert check_media("x", [image(f"{i}.png") for i in range(5)]) == [
        "X allows up to 4 images per post; this post has 5"
    ]
    assert check_media("x", [gif(), gif("b.gif")]) == ["X allows 1 GIF per post; this post has 2"]
    assert check_media("x", [image(), video()]) == [
        "X allows up to 4 images, or 1 GIF, or 1 video, not mixed; this post has 1 image and 1 video"
    ]


def test_x_sizes_durations_and_documents() -> None:
    assert check_media("x", [image(size=5 * MB)]) == []
    assert check_media("x", [image(size=5 * MB + 1)]) == [
        "image 1 (photo.png) is 5,000,001 bytes; X accepts images up to 5,000,000 bytes"
    ]
    assert check_media("x", [gif(size=16 * MB)]) == ["GIF 1 (loop.gif) is 16 MB; X accepts GIFs up to 15 MB"]
    assert check_media("x", [video(seconds=141)]) == [
        "video 1 (clip.mp4) runs 2 min 21 s; X accepts videos up to 2 min 20 s"
    ]
    assert check_media("x", [document()]) == [
        "document 1 (report.pdf) cannot be posted to X, which accepts images, GIFs and videos only"
    ]


# -- Bluesky -------------------------------------------------------------------------------------------


def test_bluesky_images_are_capped_at_a_million_bytes() -> None:
    assert check_media("bluesky", [image(size=1_000_000)]) == []
    assert check_media("bluesky", [image(size=2_300_000)]) == [
        "image 1 (photo.png) is 2.3 MB; Bluesky accepts images up to 1 MB"
    ]


def test_bluesky_takes_four_images_or_one_video() -> None:
    assert check_media("bluesky", [image(f"{i}.png") for i in range(4)]) == []
    assert check_media("bluesky", [image(f"{i}.png") for i in range(5)]) == [
        "Bluesky allows up to 4 images per post; this post has 5"
    ]
    assert check_media("bluesky", [video(size=100 * MB)]) == []
    assert check_media("bluesky", [video(size=100 * MB + 500_000)]) == [
        "video 1 (clip.mp4) is 100.5 MB; Bluesky accepts videos up to 100 MB"
    ]
    assert check_media("bluesky", [image(), video()]) == [
        "Bluesky allows up to 4 images, or 1 GIF or video, not mixed; this post has 1 image and 1 video"
    ]
    assert check_media("bluesky", [video(seconds=181)])[0].endswith("Bluesky accepts videos up to 3 min")


def test_bluesky_counts_alt_text_in_graphemes() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one grapheme, five code points
    assert check_media("bluesky", [image(alt=family * 2_000)]) == []
    assert check_media("bluesky", [video(alt=family * 1_001)]) == [
        "the alt text of video 1 (clip.mp4) is 1,001 graphemes; Bluesky allows 1,000"
    ]


# -- Mastodon ------------------------------------------------------------------------------------------


def test_mastodon_takes_four_attachments_and_a_video_only_alone() -> None:
    assert check_media("mastodon", [image(), gif(), image("b.png"), image("c.png")]) == []
    assert check_media("mastodon", [image(f"{i}.png") for i in range(5)]) == [
        "Mastodon allows up to 4 attachments per post; this post has 5"
    ]
    assert check_media("mastodon", [image(), video()]) == [
        "Mastodon allows up to 4 images or GIFs, or 1 video, not mixed; this post has 1 image and 1 video"
    ]


def test_mastodon_default_sizes_are_binary_megabytes() -> None:
    assert check_media("mastodon", [image(size=16 * MIB), video(size=99 * MIB)]) == [
        "Mastodon allows up to 4 images or GIFs, or 1 video, not mixed; this post has 1 image and 1 video"
    ]
    assert check_media("mastodon", [image(size=17 * MIB)]) == [
        "image 1 (photo.png) is 17 MiB; Mastodon accepts images up to 16 MiB"
    ]
    assert check_media("mastodon", [video(size=99 * MIB + 1)]) == [
        f"video 1 (clip.mp4) is {99 * MIB + 1:,} bytes; Mastodon accepts videos up to {99 * MIB:,} bytes"
    ]


def test_mastodon_alt_text_is_capped_at_1500_characters() -> None:
    assert check_media("mastodon", [image(alt="x" * 1_500)]) == []
    assert check_media("mastodon", [image("chart.png", alt="x" * 1_501)]) == [
        "the alt text of image 1 (chart.png) is 1,501 characters; Mastodon allows 1,500"
    ]


def test_a_mastodon_instance_reports_its_own_limits() -> None:
    instance = {
        "image_size_limit": 8 * MIB,
        "image_matrix_limit": 16_777_216,
        "video_size_limit": 200 * MIB,
        "supported_mime_types": ["image/jpeg", "image/png", "video/mp4", "audio/mpeg"],
        "description_limit": 500,
        "max_media_attachments": 6,
    }
    big = [image(f"{i}.png", size=9 * MIB, alt="x" * 501) for i in range(6)]
    problems = check_media("mastodon", [*big, gif()], overrides=instance)
    assert problems[0] == "Mastodon allows up to 6 attachments per post; this post has 7"
    assert "image 1 (0.png) is 9 MiB; Mastodon accepts images up to 8 MiB" in problems
    assert "the alt text of image 6 (5.png) is 501 characters; Mastodon allows 500" in problems
    assert problems[-1] == "GIF 7 (loop.gif) is GIF; Mastodon accepts GIFs of no type at all"
    assert check_media("mastodon", [video(size=150 * MIB)], overrides=instance) == []
    assert describe("mastodon", overrides=instance)["max_attachments"] == 6
    with pytest.raises(ValueError, match="image_size_limit must be a positive whole number"):
        check_media("mastodon", [], overrides={"image_size_limit": "16MB"})


# -- Threads, Instagram, Facebook ----------------------------------------------------------------------


def test_threads_carousels_hold_twenty_jpeg_or_png_images_and_videos() -> None:
    assert check_media("threads", [*[image(f"{i}.png") for i in range(19)], video()]) == []
    assert check_media("threads", [image(f"{i}.png") for i in range(21)]) == [
        "Threads allows up to 20 images or videos per post; this post has 21"
    ]
    assert check_media("threads", [image("photo.webp")]) == [
        "image 1 (photo.webp) is WebP; Threads accepts images as JPEG or PNG"
    ]


def test_instagram_needs_media_jpeg_and_a_feed_aspect_ratio() -> None:
    assert check_media("instagram", []) == ["Instagram posts need at least 1 image or video"]
    assert check_media("instagram", [image("a.jpg", width=1080, height=1350)]) == []
    assert check_media("instagram", [image(f"{i}.jpg") for i in range(11)]) == [
        "Instagram allows up to 10 images or videos per post; this post has 11"
    ]
    assert check_media("instagram", [image("tall.jpg", width=1080, height=1920)]) == [
        "image 1 (tall.jpg) is 1080x1920, an aspect ratio of 0.56:1; Instagram accepts images from 0.8:1 "
        "to 1.91:1"
    ]
    assert check_media("instagram", [image()]) == [
        "image 1 (photo.png) is PNG; Instagram accepts images as JPEG"
    ]


def test_facebook_takes_many_photos_or_one_video() -> None:
    assert check_media("facebook", [image(f"{i}.png") for i in range(30)]) == []
    assert check_media("facebook", [video(), video("b.mp4")]) == [
        "Facebook allows 1 video per post; this post has 2"
    ]
    assert check_media("facebook", [image(size=4 * MB + 100_000)]) == [
        "image 1 (photo.png) is 4.1 MB; Facebook accepts images up to 4 MB"
    ]


# -- YouTube, LinkedIn, Reddit, Matrix -----------------------------------------------------------------


def test_youtube_takes_exactly_one_video() -> None:
    assert check_media("youtube", [video(seconds=3 * 3600)]) == []
    assert check_media("youtube", []) == ["YouTube posts need at least 1 video"]
    assert check_media("youtube", [video(), video("b.mp4")]) == [
        "YouTube allows 1 video per post; this post has 2"
    ]
    assert check_media("youtube", [image()]) == [
        "YouTube posts need at least 1 video",
        "image 1 (photo.png) cannot be posted to YouTube, which accepts videos only",
    ]


def test_linkedin_takes_images_or_one_video_or_one_document() -> None:
    assert check_media("linkedin", [document()]) == []
    assert check_media("linkedin", [image(f"{i}.png") for i in range(20)]) == []
    assert check_media("linkedin", [document(), image()]) == [
        "LinkedIn allows up to 20 images or GIFs, or 1 video, or 1 document, not mixed; "
        "this post has 1 image and 1 document"
    ]
    assert check_media("linkedin", [video(seconds=31 * 60)]) == [
        "video 1 (clip.mp4) runs 31 min; LinkedIn accepts videos up to 30 min"
    ]


def test_reddit_takes_no_alt_text_so_requires_none() -> None:
    assert check_media("reddit", [image(alt=""), gif(alt="")]) == []
    assert check_media("reddit", [image(f"{i}.png") for i in range(21)]) == [
        "Reddit allows up to 20 images or GIFs per post; this post has 21"
    ]


def test_matrix_takes_any_file_up_to_the_homeserver_limit() -> None:
    odd = Attachment("application/zip", 1_000, "site.zip")
    assert check_media("matrix", [image(alt=""), gif(), video(), document(), odd]) == []
    assert check_media("matrix", [document(size=51 * MIB)]) == [
        "document 1 (report.pdf) is 51 MiB; Matrix accepts documents up to 50 MiB"
    ]
    assert check_media("matrix", [document(size=51 * MIB)], overrides={"m.upload.size": 100 * MB}) == []


# -- alt text ------------------------------------------------------------------------------------------


def test_alt_text_is_required_where_the_network_takes_it() -> None:
    assert check_media("bluesky", [image(), image("chart.png", alt=" ")]) == [
        "alt text is required for image 2 (chart.png)"
    ]
    assert check_media("bluesky", [image(), image("chart.png", alt="")], require_alt_text=False) == []
    assert check_media("x", [video(alt="")]) == []  # X takes no alt text for videos
    assert check_media("mastodon", [image(alt="x" * 1_501)], require_alt_text=False) != []


def test_empty_files_are_named() -> None:
    assert check_media("x", [image(size=0)]) == ["image 1 (photo.png) is empty"]


# -- uploads -------------------------------------------------------------------------------------------


def png(width: int, height: int) -> bytes:
    header = struct.pack(">II", width, height) + bytes([8, 6, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + header + b"\0\0\0\0"


def jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0" + bytes(9)
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + bytes(9)
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xda\0\x08"


def webp(chunk: bytes, body: bytes) -> bytes:
    return (
        b"RIFF" + struct.pack("<I", 4 + 8 + len(body)) + b"WEBP" + chunk + struct.pack("<I", len(body)) + body
    )


def test_png_jpeg_and_gif_are_read_with_their_dimensions() -> None:
    assert attachment_from_upload("a.png", png(640, 480), "alt") == Attachment(
        "image/png", 33, "a.png", "alt", width=640, height=480
    )
    photo = attachment_from_upload("b.jpg", jpeg(1080, 1350))
    assert (photo.mime_type, photo.width, photo.height) == ("image/jpeg", 1080, 1350)
    loop = attachment_from_upload("c.gif", b"GIF89a" + struct.pack("<HH", 320, 200) + bytes(10))
    assert (loop.kind, loop.width, loop.height) == ("gif", 320, 200)


def test_webp_dimensions_from_each_kind_of_header() -> None:
    extended = webp(b"VP8X", bytes(4) + (799).to_bytes(3, "little") + (599).to_bytes(3, "little"))
    bits = (799) | (599 << 14)
    lossless = webp(b"VP8L", b"\x2f" + bits.to_bytes(4, "little"))
    lossy = webp(b"VP8 ", b"\0\0\0\x9d\x01\x2a" + struct.pack("<HH", 800, 600))
    for content in (extended, lossless, lossy):
        found = attachment_from_upload("x.webp", content)
        assert (found.mime_type, found.width, found.height) == ("image/webp", 800, 600)


def test_video_and_pdf_are_recognised_by_their_magic_numbers() -> None:
    def ftyp(brand: bytes) -> bytes:
        return struct.pack(">I", 24) + b"ftyp" + brand + bytes(12)

    assert attachment_from_upload("a.mp4", ftyp(b"isom")).mime_type == "video/mp4"
    assert attachment_from_upload("b.mov", ftyp(b"qt  ")).mime_type == "video/quicktime"
    webm = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm" + bytes(8)
    assert attachment_from_upload("c.webm", webm).mime_type == "video/webm"
    pdf = attachment_from_upload("d.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    assert (pdf.kind, pdf.width) == ("document", None)
    with pytest.raises(ValueError, match=r"photo\.heic is not a PNG, JPEG, GIF or WebP image"):
        attachment_from_upload("photo.heic", ftyp(b"heic"))


def test_the_type_comes_from_the_content_not_the_name() -> None:
    assert attachment_from_upload("holiday.jpg", png(10, 10)).mime_type == "image/png"
    with pytest.raises(
        ValueError, match=r"notes\.png is not a PNG.*read from the file's content, not its name"
    ):
        attachment_from_upload("notes.png", b"just some text")
    with pytest.raises(ValueError, match=r"^empty\.png is empty$"):
        attachment_from_upload("empty.png", b"")


def test_truncated_headers_give_a_type_without_dimensions() -> None:
    cut = attachment_from_upload("cut.png", png(640, 480)[:20])
    assert (cut.mime_type, cut.width, cut.height) == ("image/png", None, None)
    assert attachment_from_upload("cut.jpg", jpeg(10, 10)[:12]).width is None
    assert attachment_from_upload("cut.webp", b"RIFF\0\0\0\0WEBPVP8X").width is None


def test_an_upload_goes_straight_into_the_check() -> None:
    upload = attachment_from_upload("tall.jpg", jpeg(1080, 1920), alt_text="a poster")
    assert check_media("instagram", [upload]) == [
        "image 1 (tall.jpg) is 1080x1920, an aspect ratio of 0.56:1; Instagram accepts images from 0.8:1 "
        "to 1.91:1"
    ]


# -- properties ----------------------------------------------------------------------------------------

MIME_TYPES = [
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/gif",
    "image/heic",
    "video/mp4",
    "video/quicktime",
    "video/webm",
    "application/pdf",
    "application/zip",
]
ANY_ATTACHMENT = st.builds(
    Attachment,
    mime_type=st.sampled_from(MIME_TYPES) | st.text(max_size=20),
    size=st.integers(min_value=-10, max_value=10**12),
    filename=st.text(max_size=30),
    alt_text=st.text(max_size=60) | st.text(max_size=2, min_size=1).map(lambda s: s * 1_200),
    width=st.none() | st.integers(min_value=-10, max_value=20_000),
    height=st.none() | st.integers(min_value=-10, max_value=20_000),
    duration_seconds=st.none() | st.floats(),
)
# Plausible uploads with names that cannot be mistaken for a position in a message.
LIKELY_ATTACHMENT = st.builds(
    Attachment,
    mime_type=st.sampled_from(MIME_TYPES),
    size=st.integers(min_value=1, max_value=30 * MB),
    filename=st.from_regex(r"[a-z]{1,8}\.[a-z]{3}", fullmatch=True),
    alt_text=st.sampled_from(["", "a chart of sign-ups", "x" * 1_600]),
    width=st.none() | st.integers(min_value=1, max_value=4_000),
    height=st.none() | st.integers(min_value=1, max_value=4_000),
    duration_seconds=st.none() | st.floats(min_value=0.5, max_value=2_000),
)
NETWORK = st.sampled_from(sorted(MEDIA_RULES))
POSITION = re.compile(r"\b(?:image|GIF|video|document) (\d+) \(")


@settings(max_examples=300)
@given(NETWORK, st.lists(ANY_ATTACHMENT, max_size=25), st.booleans())
def test_check_media_never_raises(
    network: str, attachments: list[Attachment], require_alt_text: bool
) -> None:
    problems = check_media(network, attachments, require_alt_text=require_alt_text)
    assert all(isinstance(problem, str) and problem for problem in problems)


@settings(max_examples=300)
@given(NETWORK, st.lists(LIKELY_ATTACHMENT, max_size=22), st.booleans())
def test_problems_name_positions_that_exist(network: str, attachments: list[Attachment], alt: bool) -> None:
    for problem in check_media(network, attachments, require_alt_text=alt):
        for position in POSITION.findall(problem):
            assert 1 <= int(position) <= len(attachments), problem


@settings(max_examples=300)
@given(NETWORK, st.lists(LIKELY_ATTACHMENT, max_size=22))
def test_an_accepted_post_stays_accepted_with_one_attachment_fewer(
    network: str, attachments: list[Attachment]
) -> None:
    if MEDIA_RULES[network].min_attachments or check_media(network, attachments, require_alt_text=False):
        return
    for left_out in range(len(attachments)):
        fewer = attachments[:left_out] + attachments[left_out + 1 :]
        assert check_media(network, fewer, require_alt_text=False) == []
