"""The access key in effect, compared in constant time; repeated wrong keys are slowed down."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time

COOKIE_NAME = "couchcast_key"
COOKIE_MAX_AGE = 400 * 24 * 3600  # the longest browsers keep a cookie

# More than this many *different* wrong keys from one address in the window: 429 until it passes.
# Different ones only: a phone with a stale cookie (the key was changed) repeats the same wrong key
# on every request of a page, and must still be able to scan the new QR code right after.
WRONG_KEYS_ALLOWED = 10
WRONG_KEY_WINDOW = 60.0

_lock = threading.Lock()
_key: str = ""
_wrong_keys: dict[str, dict[bytes, float]] = {}  # address -> {fingerprint of a wrong key: last seen}


def set_access_key(key: str) -> None:
    global _key
    if not key:
        raise ValueError("the access key cannot be empty")
    _key = key


def current_key() -> str:
    return _key


def is_valid(candidate: str) -> bool:
    return bool(_key) and hmac.compare_digest(candidate.encode(), _key.encode())


def offered_keys(*, query: str | None, authorization: str, cookie: str | None) -> list[str]:
    """The keys a request offers: `?key=`, `Authorization: Bearer`, the cookie (SPEC "Access")."""
    bearer = authorization[7:].strip() if authorization[:7].lower() == "bearer " else None
    return [key for key in (query, bearer, cookie) if key]


def _recent(address: str, now: float) -> dict[bytes, float]:
    attempts = _wrong_keys.get(address, {})
    for fingerprint, seen in list(attempts.items()):
        if seen < now - WRONG_KEY_WINDOW:
            del attempts[fingerprint]
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
        return min(attempts.values()) + WRONG_KEY_WINDOW - now


def record_wrong_key(address: str, candidates: list[str]) -> None:
    now = time.monotonic()
    with _lock:
        attempts = _recent(address, now)
        for candidate in candidates:
            # A digest, not the key itself: nothing a guesser sent is kept in memory as given.
            attempts[hashlib.sha256(candidate.encode()).digest()[:16]] = now
        _wrong_keys[address] = attempts


def forget_wrong_keys(address: str) -> None:
    """A right key from this address: earlier misses were a stale cookie or a typo, not a guesser."""
    if address in _wrong_keys:
        with _lock:
            _wrong_keys.pop(address, None)
