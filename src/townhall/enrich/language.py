"""Language identification (ISO 639-1 with a confidence), with explicit 'unknown' for text without words."""

from __future__ import annotations

import re
import threading
from functools import lru_cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

# The languages a brand's social inbox realistically sees; a smaller set is also faster and avoids
# rare-language false positives on short posts. All are ISO 639-1 codes the identifier knows.
LANGUAGES = [
    "af",
    "ar",
    "bg",
    "bn",
    "ca",
    "cs",
    "cy",
    "da",
    "de",
    "el",
    "en",
    "es",
    "et",
    "fa",
    "fi",
    "fr",
    "ga",
    "gl",
    "he",
    "hi",
    "hr",
    "hu",
    "id",
    "is",
    "it",
    "ja",
    "ko",
    "lt",
    "lv",
    "mr",
    "ms",
    "nl",
    "no",
    "pl",
    "pt",
    "ro",
    "ru",
    "sk",
    "sl",
    "sq",
    "sr",
    "sv",
    "sw",
    "ta",
    "te",
    "th",
    "tl",
    "tr",
    "uk",
    "ur",
    "vi",
    "zh",
]
UNKNOWN = "unknown"
# Below this the identifier is guessing; short posts ("ok", "lol") land here.
MIN_CONFIDENCE = 0.5

_NOISE = re.compile(r"https?://\S+|www\.\S+|[@#$][\w.]+", re.UNICODE)
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_lock = threading.Lock()


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(LANGUAGES)
    return identifier


def strip_noise(text: str) -> str:
    """The words of a post: URLs, mentions, hashtags and cashtags say nothing about its language."""
    return _NOISE.sub(" ", text).strip()


def has_words(text: str) -> bool:
    return bool(_LETTER.search(strip_noise(text)))


def detect(text: str) -> tuple[str, float]:
    """(ISO 639-1 code, confidence), or ('unknown', 0.0) for text with no words (emoji only, a bare link)."""
    words = strip_noise(text)
    if not _LETTER.search(words):
        return UNKNOWN, 0.0
    identifier = _identifier()
    with _lock:  # the identifier keeps per-call scratch state
        code, confidence = identifier.classify(words)
    confidence = float(confidence)
    if confidence < MIN_CONFIDENCE:
        return UNKNOWN, round(confidence, 3)
    return str(code), round(confidence, 3)
