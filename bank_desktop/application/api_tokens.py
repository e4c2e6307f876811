"""API tokens: how they look, and the keyed hash the staff register keeps instead of them.

A token is ``bdt_<token id>_<secret>``: the id (16 hex digits) finds the clerk's record, the
secret (256 random bits) is what proves it. The register stores only HMAC-SHA256 of the whole
token under a key of the store's own (:class:`~bank_desktop.domain.staff.TokenKeyCreated`): a
fast hash is enough for a secret nobody can guess, and ``serve`` checks one on every request.
Hashes are compared in constant time; tokens are never logged, stored or shown again.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Final

PREFIX: Final = "bdt"
_SHAPE: Final = re.compile(rf"{PREFIX}_([0-9a-f]{{16}})_[A-Za-z0-9_-]{{43}}")
#: Hashed when a token is unknown, so an answer takes as long whether or not its id exists.
_DUMMY_KEY: Final = "0" * 64
_DUMMY_HASH: Final = "0" * 64


def new_key() -> tuple[str, str]:
    """A fresh (key id, key) for a store that has none."""
    return secrets.token_hex(4), secrets.token_hex(32)


def new_token() -> tuple[str, str]:
    """A fresh (token id, token)."""
    token_id = secrets.token_hex(8)
    return token_id, f"{PREFIX}_{token_id}_{secrets.token_urlsafe(32)}"


def token_id_of(token: str) -> str | None:
    """The id inside a well-formed token; None for anything else."""
    match = _SHAPE.fullmatch(token)
    return None if match is None else match.group(1)


def token_hash(key: str, token: str) -> str:
    """HMAC-SHA256 of ``token`` under the store's ``key``, in hex."""
    return hmac.new(key.encode(), token.encode(), hashlib.sha256).hexdigest()


def matches(key: str | None, token: str, stored: str | None) -> bool:
    """Whether ``token`` hashes to ``stored`` under ``key`` (constant time); with no key or
    no stored hash the same work is done and the answer is no."""
    if key is None or stored is None:
        hmac.compare_digest(token_hash(_DUMMY_KEY, token), _DUMMY_HASH)
        return False
    return hmac.compare_digest(token_hash(key, token), stored)
