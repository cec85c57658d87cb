"""Languages of the paper's benchmarks: ISO code -> English name."""

from __future__ import annotations

from harness.errors import HarnessError
from harness.registry import suggest

LANGUAGE_NAMES: dict[str, str] = {
    "en": "English", "bn": "Bengali", "th": "Thai", "sw": "Swahili", "ja": "Japanese",
    "zh": "Chinese", "de": "German", "fr": "French", "ru": "Russian", "es": "Spanish",
    "te": "Telugu", "ar": "Arabic", "hi": "Hindi", "it": "Italian", "nl": "Dutch",
    "pl": "Polish", "pt": "Portuguese", "ur": "Urdu", "vi": "Vietnamese",
}

# The ten languages of MGSM/MSVAMP in the paper's column order (te left out, as the paper does).
MATH_LANGUAGES: tuple[str, ...] = ("bn", "th", "sw", "ja", "zh", "de", "fr", "ru", "es", "en")
# The sixteen X-CSQA languages in the paper's Table 10 order.
XCSQA_LANGUAGES: tuple[str, ...] = (
    "ar", "de", "es", "fr", "hi", "it", "ja", "nl", "pl", "pt", "ru", "sw", "ur", "vi", "zh", "en",
)


def language_name(code: str) -> str:
    """English name of a language code; a clear error for an unknown code."""
    try:
        return LANGUAGE_NAMES[code]
    except KeyError:
        raise HarnessError(
            f"unknown language {code!r}{suggest(code, LANGUAGE_NAMES)}; "
            f"known: {', '.join(sorted(LANGUAGE_NAMES))}"
        ) from None
