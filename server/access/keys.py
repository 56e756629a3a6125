"""An access key, compared in constant time, and the record that slows down repeated wrong keys."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

COOKIE_NAME = "couchcast_key"
COOKIE_MAX_AGE = 400 * 24 * 3600  # the longest browsers keep a cookie

# More than this many *different* wrong keys from one address in the window: 429 until it passes.
# Different ones only: a phone with a stale cookie (the key was changed) repeats the same wrong key
# on every request of a page, and must still be able to scan the new QR code right after.
WRONG_KEYS_ALLOWED = 10
WRONG_KEY_WINDOW = 60.0
# Addresses whose wrong keys are remembered at most (the least recently seen is forgotten first).
# More than the devices of any home network (an IPv4 /24 has 254 addresses; IPv6 counts by /64),
# so a guesser cannot push its own record out by switching addresses. About 0.5 KB each: 0.5 MB.
WRONG_KEY_ADDRESSES = 1024
# IPv6 devices pick new temporary addresses within their network's /64 (RFC 8981); counting each
# address apart would give one guessing device a fresh allowance with every address it takes.
IPV6_PREFIX_LENGTH = 64


def offered_keys(*, query: str | None, authorization: str, cookie: str | None) -> list[str]:
    """The keys a request offers: `?key=`, `Authorization: Bearer`, the cookie."""
    bearer = authorization[7:].strip() if authorization[:7].lower() == "bearer " else None
    return [key for key in (query, bearer, cookie) if key]


def guesser(address: str) -> str:
    """Whose guesses a request's address counts as: an IPv4 address itself, an IPv6 address by its /64."""
    try:
        ip = ipaddress.ip_address(address.partition("%")[0])  # without a link-local zone ("%eth0")
    except ValueError:
        return address
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network((ip, IPV6_PREFIX_LENGTH), strict=False))


class WrongKeys:
    """Recent wrong keys per guesser (see `guesser`), in bounded memory.

    A key is remembered by a digest, for `window` seconds after it was last sent; at most `capacity`
    guessers are remembered, the least recently seen dropped first. Expired keys are swept from the
    whole table once per window, not only when their address comes back.
    """

    def __init__(self, capacity: int = WRONG_KEY_ADDRESSES, window: float = WRONG_KEY_WINDOW) -> None:
        self.capacity = capacity
        self.window = window
        self._lock = threading.Lock()
        # guesser -> {digest of a wrong key: (last sent, the exact address that sent it)}
        self._guessers: OrderedDict[str, dict[bytes, tuple[float, str]]] = OrderedDict()
        self._next_sweep = 0.0

    def __len__(self) -> int:
        return len(self._guessers)

    def seconds_blocked(self, address: str, now: float | None = None) -> float:
        """How long this address must wait before a key is checked again (0 when not blocked)."""
        if not self._guessers:  # the usual case, on every request: no parsing, no lock
            return 0.0
        now = time.monotonic() if now is None else now
        who = guesser(address)
        with self._lock:
            attempts = self._unexpired(who, now)
            if len(attempts) < WRONG_KEYS_ALLOWED:
                return 0.0
            return min(seen for seen, _ in attempts.values()) + self.window - now

    def record(self, address: str, candidates: list[str], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        who = guesser(address)
        with self._lock:
            if now >= self._next_sweep:
                self._next_sweep = now + self.window
                for other in list(self._guessers):
                    self._unexpired(other, now)
            attempts = self._unexpired(who, now)
            for candidate in candidates:
                # A digest, not the key itself: nothing a guesser sent is kept in memory as given.
                attempts[hashlib.sha256(candidate.encode()).digest()[:16]] = (now, address)
            self._guessers[who] = attempts
            self._guessers.move_to_end(who)
            while len(self._guessers) > self.capacity:
                self._guessers.popitem(last=False)

    def forget(self, address: str) -> None:
        """This exact address sent the right key: its own misses were a stale cookie or a typo.

        Only its own: another device in the same IPv6 /64 keeps its record, or a guesser sharing a
        network with a phone would get a fresh allowance with every request the phone makes.
        """
        if not self._guessers:
            return
        who = guesser(address)
        with self._lock:
            attempts = self._guessers.get(who)
            if attempts is None:
                return
            for digest, (_, sender) in list(attempts.items()):
                if sender == address:
                    del attempts[digest]
            if not attempts:
                del self._guessers[who]

    def _unexpired(self, who: str, now: float) -> dict[bytes, tuple[float, str]]:
        """The guesser's keys still inside the window (the guesser is dropped when none are). Lock held."""
        attempts = self._guessers.get(who, {})
        for digest, (seen, _) in list(attempts.items()):
            if seen < now - self.window:
                del attempts[digest]
        if not attempts:
            self._guessers.pop(who, None)
        return attempts


@dataclass(frozen=True)
class Admission:
    """What the key check decided for one request."""

    admitted: bool
    refusal: str = ""  # why not, in words for the person (empty when admitted)
    wait: float = 0.0  # seconds before this address may try again (a guesser held back)


ADMITTED = Admission(True)
NO_KEY = Admission(False, "This needs the access key.")
WRONG_KEY = Admission(False, "The access key is wrong or has been changed.")


class AccessKeys:
    """One server's access key and its record of wrong ones: the one place a key is judged."""

    def __init__(self, key: str) -> None:
        if not key:
            raise ValueError("the access key cannot be empty")
        self.key = key
        self.wrong_keys = WrongKeys()

    def is_valid(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self.key.encode())

    def admit(self, offered: list[str], address: str, *, count_misses: bool = True) -> Admission:
        """Whether a request offering these keys from this address gets in.

        `count_misses=False` decides without recording a wrong key (the media fast path hands every
        refusal to Django, which counts it once).
        """
        if not offered:
            return NO_KEY
        wait = self.wrong_keys.seconds_blocked(address)
        if wait > 0:
            return Admission(
                False, "Too many wrong access keys from this address; try again in a minute.", wait
            )
        if not any(map(self.is_valid, offered)):
            if count_misses:
                self.wrong_keys.record(address, offered)
            return WRONG_KEY
        self.wrong_keys.forget(address)
        return ADMITTED
