"""Languages of the paper's benchmarks: ISO code -> English name."""

from __future__ import annotations

from harness.errors import HarnessError
from harness.registry import suggest

LANGUAGE_NAMES: dict[str, str] = {
    "en": "English",
    "bn": "Bengali",
    "th": "Thai",
    "sw": "Swahili",
    "ja": "Japanese",
    "zh": "Chinese",
    "de": "German",
    "fr": "French",
    "ru": "Russian",
    "es": "Spanish",
    "te": "Telugu",
    "ar": "Arabic",
    "hi": "Hindi",
    "it": "Italian",
    "nl": "Dutch",
    "pl": "Polish",
    "pt": "Portuguese",
    "ur": "Urdu",
    "vi": "Vietnamese",
}

# The ten languages of MGSM/MSVAMP in the paper's column order (te left out, as the paper does).
MATH_LANGUAGES: tuple[str, ...] = ("bn", "th", "sw", "ja", "zh", "de", "fr", "ru", "es", "en")
# The sixteen X-CSQA languages in the paper's Table 10 order.
XCSQA_LANGUAGES: tuple[str, ...] = (
    "ar",
    "de",
    "es",
    "fr",
    "hi",
    "it",
    "ja",
    "nl",
    "pl",
    "pt",
    "ru",
    "sw",
    "ur",
    "vi",
    "zh",
    "en",
)


def unknown_language(code: str) -> str:
    """The message for a code that names no known language (with a did-you-mean)."""
    return f"unknown language {code!r}{suggest(code, LANGUAGE_NAMES)}; known: {', '.join(sorted(LANGUAGE_NAMES))}"


def check_known(codes: list[str] | None) -> list[str] | None:
    """``codes`` unchanged, or a ValueError for the first unknown one (for recipe validators)."""
    for code in codes or []:
        if code not in LANGUAGE_NAMES:
            raise ValueError(unknown_language(code))
    return codes


def language_name(code: str) -> str:
    """English name of a language code; a clear error for an unknown code."""
    try:
        return LANGUAGE_NAMES[code]
    except KeyError:
        raise HarnessError(unknown_language(code)) from None
