"""The access key in effect, compared in constant time; repeated wrong keys are slowed down."""

from __future__ import annotations

import hmac
import threading
import time
from collections import defaultdict, deque

COOKIE_NAME = "couchcast_key"
COOKIE_MAX_AGE = 400 * 24 * 3600  # the longest browsers keep a cookie

# A wrong key from one address more than this often in the window gets 429 until the window passes.
WRONG_KEYS_ALLOWED = 10
WRONG_KEY_WINDOW = 60.0

_lock = threading.Lock()
_key: str = ""
_wrong_keys: dict[str, deque[float]] = defaultdict(deque)


def set_access_key(key: str) -> None:
    global _key
    if not key:
        raise ValueError("the access key cannot be empty")
    _key = key


def current_key() -> str:
    return _key


def is_valid(candidate: str) -> bool:
    return bool(_key) and hmac.compare_digest(candidate.encode(), _key.encode())


def _recent(address: str, now: float) -> deque[float]:
    attempts = _wrong_keys[address]
    while attempts and attempts[0] < now - WRONG_KEY_WINDOW:
        attempts.popleft()
    return attempts


def seconds_blocked(address: str) -> float:
    """How long this address must wait before a key is checked again (0 when not blocked)."""
    now = time.monotonic()
    with _lock:
        attempts = _recent(address, now)
        if len(attempts) < WRONG_KEYS_ALLOWED:
            if not attempts:
                _wrong_keys.pop(address, None)
            return 0.0
        return attempts[0] + WRONG_KEY_WINDOW - now


def record_wrong_key(address: str) -> None:
    now = time.monotonic()
    with _lock:
        _recent(address, now).append(now)
