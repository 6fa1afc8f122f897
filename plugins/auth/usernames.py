"""Usernames in one canonical form, so that one account has exactly one name.

A database compares names its own way: MariaDB's ``utf8mb4_unicode_ci`` finds ``victim3`` for
``victim3 `` (trailing space), ``vïctim3`` and the fullwidth ``ｖｉｃｔｉｍ３``, while a throttle
keyed by the typed string counts each variant apart. So every name is canonicalised before it is
stored or looked up: NFKC (fullwidth and other compatibility forms become plain letters),
casefolded, without surrounding whitespace, and then it must consist of :data:`ALPHABET` only. A
name that is not in the alphabet after that cannot belong to anybody and is never sent to the
database.

Names that only look like another (``rn`` and ``m``, ``0`` and ``o``, ``1`` and ``l``, ``_``, ``.``
and ``-``) share a :func:`skeleton`; registration refuses a name whose skeleton is taken.
"""
from __future__ import annotations

import re
import unicodedata

MIN_LENGTH, MAX_LENGTH = 3, 32
ALPHABET = "a-z 0-9 _ . -"
_VALID = re.compile(rf"^[a-z0-9_.-]{{{MIN_LENGTH},{MAX_LENGTH}}}$")
RULE = f"Use {MIN_LENGTH} to {MAX_LENGTH} letters a-z, digits, '_', '.' or '-'."

# Applied in this order. The migration that filled the column for existing users
# (sql/core/*/0002_canonical_usernames.sql) nests SQL REPLACE() calls in the same order.
SKELETON_STEPS: tuple[tuple[str, str], ...] = (
    ("rn", "m"), ("vv", "w"), ("0", "o"), ("1", "l"), ("_", "-"), (".", "-"),
)


def canonical(name: str) -> str:
    """The form a typed name is stored and looked up in (not checked against the alphabet)."""
    return unicodedata.normalize("NFKC", name).casefold().strip()


def is_valid(canonical_name: str) -> bool:
    return _VALID.match(canonical_name) is not None


def skeleton(canonical_name: str) -> str:
    """What a name looks like: two names with the same skeleton are too easily mistaken."""
    out = canonical_name
    for old, new in SKELETON_STEPS:
        out = out.replace(old, new)
    return out
