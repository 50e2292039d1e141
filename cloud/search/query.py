"""`q` as PlaceOS reads it, parsed once into terms and rendered safely for each engine.

PlaceOS (rest-api `utilities/text-search.cr`, PPT-2644, the version replacing Elasticsearch
with PostgreSQL full-text search) turns `q` into `to_tsquery('simple', ...)` like this, and
Transom follows it:

- cut the input at 512 characters;
- keep e-mail addresses whole (one term, so `adele@example.com` does not match everyone at
  example.com);
- drop Elasticsearch-era `field:` prefixes (`tags:(+level AND +building)` -> level, building);
- split the rest at every character that is not a letter or digit;
- drop the words and/or/not (any case), which clients still send as operators;
- keep the first 16 terms;
- OR-join them as whole words, the last one also as a prefix (search as you type).

An earlier version of that file AND-ed every term as a prefix; the later one restored the
Elasticsearch behaviour (OR, last term a prefix), and that is what Transom does.

No term ever reaches an engine as syntax: for FTS5 each is a double-quoted string (terms hold
only letters and digits, or an address's `._%+-@`), so no input can cause a query error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_QUERY_CHARS = 512
MAX_TERMS = 16
OPERATOR_WORDS = frozenset({"and", "or", "not"})

# Letters and digits (\w without the underscore), as PlaceOS's [\p{L}\p{N}].
_ALNUM = r"[^\W_]"
_EMAIL = re.compile(rf"(?:{_ALNUM}|[._%+-])+@(?:{_ALNUM}|[.-])+\.[^\W\d_]{{2,}}")
_FIELD_PREFIX = re.compile(r"[\w.]+\s*:")
_WORD = re.compile(rf"{_ALNUM}+")
# An address is stashed behind a placeholder made of letters only, so the splits keep it.
_PLACEHOLDER = re.compile(r"transomemail([a-j]+)x")
_DIGITS = "abcdefghij"


@dataclass(frozen=True)
class Term:
    """One searched term: a word, or a whole e-mail address; `prefix` for the last one."""

    text: str
    prefix: bool = False
    email: bool = False


def parse_q(q: str | None) -> list[Term]:
    """The terms of a `q` parameter; an empty list means "no text filter" (match everything)."""
    if not q:
        return []
    text = q[:MAX_QUERY_CHARS]
    emails: list[str] = []

    def stash(match: re.Match[str]) -> str:
        emails.append(match.group(0))
        return f" transomemail{_encode(len(emails) - 1)}x "

    text = _EMAIL.sub(stash, text)
    text = _FIELD_PREFIX.sub(" ", text)
    words: list[tuple[str, bool]] = []
    for word in _WORD.findall(text):
        placeholder = _PLACEHOLDER.fullmatch(word)
        index = _decode(placeholder.group(1)) if placeholder else -1
        if 0 <= index < len(emails):
            words.append((emails[index], True))
        elif word.casefold() not in OPERATOR_WORDS:
            words.append((word, False))
    words = words[:MAX_TERMS]
    last = len(words) - 1
    return [Term(word, prefix=i == last, email=email) for i, (word, email) in enumerate(words)]


def _encode(index: int) -> str:
    return "".join(_DIGITS[int(d)] for d in str(index))


def _decode(code: str) -> int:
    return int("".join(str(_DIGITS.index(c)) for c in code))


def fts5_match(terms: list[Term]) -> str | None:
    """An FTS5 MATCH expression for the terms, or None when there are none.

    Each term is a quoted string: FTS5 runs it through the table's tokenizer, so a word is
    one token and an address becomes the phrase of its parts (adele example com), which
    matches the address and nothing else at the same domain.
    """
    if not terms:
        return None
    return " OR ".join('"' + t.text.replace('"', '""') + '"' + ("*" if t.prefix else "") for t in terms)


def simple_query_string(terms: list[Term]) -> str | None:
    """The same query for Elasticsearch's `simple_query_string` (default_operator OR)."""
    if not terms:
        return None
    escaped = [re.sub(r'([+\-=&|><!(){}\[\]^"~*?:\\/])', r"\\\1", t.text) for t in terms]
    return " | ".join(
        (f'"{e}"' if t.email else e) + ("*" if t.prefix and not t.email else "")
        for t, e in zip(terms, escaped, strict=True)
    )
