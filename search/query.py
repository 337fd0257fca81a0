"""The one parser of what a person types, and its translation to each engine's syntax.

Nothing typed reaches an engine's query language as typed: the text is cut into words
(letters and digits), quoted phrases and ``-excluded`` words; each engine's query is then
built from those words only, so quotes, operators (AND, OR, NOT, NEAR), ``*``, ``:``,
``^`` and parentheses are plain text and can never make a query fail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_QUERY_LENGTH = 200  # characters; longer queries are refused (400), not cut
MAX_TERMS = 12  # words kept, phrases counting each of their words
MIN_PREFIX = 2  # letters typed before the last word matches the words it starts

WORD_RE = re.compile(r"[^\W_]+")
# A quoted phrase (closed or, while typing, not yet), a word with its leading "-", or a run
# of anything else (skipped).
TOKEN_RE = re.compile(r'"([^"]*)"?|(-?)([^\s"]+)')


class QueryTooLong(ValueError):
    pass


@dataclass
class ParsedQuery:
    terms: list[str] = field(default_factory=list)  # all must match
    phrases: list[list[str]] = field(default_factory=list)  # words in this order
    excluded: list[str] = field(default_factory=list)  # must not match
    prefix: str | None = None  # the last word while typing: matches any word it starts

    @property
    def is_empty(self) -> bool:
        """Nothing positive to look for (only exclusions match everything: refused)."""
        return not (self.terms or self.phrases or self.prefix)

    def words(self) -> list[str]:
        """Every positive word, for highlighting."""
        found = list(self.terms)
        for phrase in self.phrases:
            found.extend(phrase)
        if self.prefix:
            found.append(self.prefix)
        return found


def parse(text: str) -> ParsedQuery:
    """Parse ``text``; the last bare word is a prefix unless a space follows it."""
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryTooLong(text)
    parsed = ParsedQuery()
    budget = MAX_TERMS
    last_bare: str | None = None
    for match in TOKEN_RE.finditer(text):
        phrase, minus, word = match.groups()
        if phrase is not None:
            words = [w.lower() for w in WORD_RE.findall(phrase)][:budget]
            budget -= len(words)
            if len(words) == 1:
                parsed.terms.append(words[0])
            elif words:
                parsed.phrases.append(words)
            last_bare = None
        else:
            words = [w.lower() for w in WORD_RE.findall(word)][:budget]
            budget -= len(words)
            if minus and len(words) == 1:
                parsed.excluded.append(words[0])
                last_bare = None
            else:
                parsed.terms.extend(words)
                last_bare = words[-1] if words and match.end() == len(text) else None
        if budget <= 0:
            break
    # A one-letter prefix would match most of the index: it stays a whole word.
    if (
        last_bare is not None
        and len(last_bare) >= MIN_PREFIX
        and parsed.terms
        and parsed.terms[-1] == last_bare
    ):
        parsed.prefix = parsed.terms.pop()
    return parsed


def to_fts5(parsed: ParsedQuery) -> str:
    """An FTS5 MATCH expression: every word in double quotes (FTS5 strings), so none is
    read as an operator; ``a b`` means a AND b."""
    parts = [f'"{w}"' for w in parsed.terms]
    parts += ['"' + " ".join(p) + '"' for p in parsed.phrases]
    if parsed.prefix:
        parts.append(f'"{parsed.prefix}" *')
    expression = " AND ".join(parts)
    for word in parsed.excluded:
        expression += f' NOT "{word}"'
    return expression


def to_tsquery(parsed: ParsedQuery) -> str:
    """A ``to_tsquery`` text: words are letters and digits only, so none is an operator."""
    parts = list(parsed.terms)
    parts += ["(" + " <-> ".join(p) + ")" for p in parsed.phrases]
    if parsed.prefix:
        parts.append(f"{parsed.prefix}:*")
    parts += [f"!{w}" for w in parsed.excluded]
    return " & ".join(parts)
