"""Participant tokens: 32 random bytes shown once, stored only as a SHA-256 digest.

A plain (unsalted) digest is enough because the tokens are random, not chosen by people: a
leaked database gives nothing to brute-force, and the digest doubles as the lookup key.
"""

import hashlib
import secrets


def new_token() -> str:
    """A fresh URL-safe token (43 characters, 256 bits)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The hex SHA-256 under which `token` is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
