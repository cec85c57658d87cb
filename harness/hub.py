"""The Hugging Face Hub: whether it can be reached (asked once), and what the local cache holds.

Without a network, huggingface_hub retries every request for about 25 s ("Retrying in 8s
[Retry 5/5]") before it gives up. The harness asks once per process, with a short timeout;
when the hub cannot be reached it switches the libraries to their local cache (what
``HF_HUB_OFFLINE=1`` does), so a cached model or dataset still loads and a missing one fails
at once, with the fix.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import threading
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

PROBE_TIMEOUT_S = 2.0
OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
TRUE_VALUES = {"1", "ON", "YES", "TRUE"}
_probe_failed = False  # set once the hub did not answer (the switch then sets HF_HUB_OFFLINE too)


def offline_requested() -> bool:
    """The user asked for the local cache only (HF_HUB_OFFLINE=1 or TRANSFORMERS_OFFLINE=1)."""
    return any(os.environ.get(name, "").upper() in TRUE_VALUES for name in OFFLINE_VARIABLES)


def endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


@functools.cache
def hub_reachable() -> bool:
    """Whether the hub answers at all (any HTTP status) within PROBE_TIMEOUT_S.

    Asked once per process; never asked when offline mode is requested. A failed answer
    switches this process and the ones it starts to the local cache (see ``use_cache_only``).
    """
    if offline_requested():
        return False
    answered = threading.Event()

    def probe() -> None:
        from huggingface_hub.utils import get_session

        try:  # the library's own client: the user's proxy and certificate settings apply
            get_session().head(endpoint(), timeout=PROBE_TIMEOUT_S)
            answered.set()
        except Exception:  # no route, no name, refused, timed out: all mean "not reachable"
            pass

    # A thread bounds the wait: name resolution ignores the client's timeout on some systems.
    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(PROBE_TIMEOUT_S + 1)
    if not answered.is_set():
        global _probe_failed
        _probe_failed = True
        use_cache_only()
        return False
    return True


def use_cache_only() -> None:
    """Switch huggingface_hub, transformers and datasets to their local cache, no retries."""
    # The environment carries it to the processes a launcher starts (DeepSpeed, torchrun);
    # the constants cover the libraries already imported in this one.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    from huggingface_hub import constants

    constants.HF_HUB_OFFLINE = True
    if "datasets.config" in sys.modules:
        datasets_config: Any = sys.modules["datasets.config"]
        datasets_config.HF_HUB_OFFLINE = True
        datasets_config.HF_DATASETS_OFFLINE = True


def why_unreachable() -> str:
    """A phrase for messages: why the hub is not used."""
    if _probe_failed:
        return f"the hub ({endpoint()}) cannot be reached"
    return "HF_HUB_OFFLINE=1 is set"


def model_cached(repo_id: str, revision: str | None = None, filename: str = "config.json") -> bool:
    """Whether ``filename`` of a hub model lies in the local hub cache."""
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(repo_id, filename, revision=revision), str)
    except Exception:  # a malformed id: certainly not cached
        return False


def datasets_cache() -> Path:
    """Where ``datasets`` keeps prepared datasets (its own rule, without importing it)."""
    if os.environ.get("HF_DATASETS_CACHE"):
        return Path(os.environ["HF_DATASETS_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")
    return Path(home).expanduser() / "datasets"


def _snake_case(name: str) -> str:
    # datasets.naming.camelcase_to_snakecase: the cache folder of "Mathoctopus/MSVAMP" is
    # "Mathoctopus___msvamp"
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z\d])([A-Z])", r"\1_\2", name).lower()


def dataset_cached(repo_id: str) -> bool:
    """Whether ``datasets`` has a prepared copy of a hub dataset, which it can load offline."""
    *namespace, name = repo_id.split("/")
    folder = datasets_cache() / "___".join([*namespace, _snake_case(name)])
    return any(path.is_dir() for path in folder.glob("*/*/*"))


def require_hub_dataset(repo_id: str, place: str, fix: str) -> None:
    """Fail at once when a hub dataset can neither be fetched nor loaded from the local cache."""
    if hub_reachable() or dataset_cached(repo_id):
        return
    raise HarnessError(f"{place}: {why_unreachable()} and {repo_id} is not in the local datasets cache; {fix}")
