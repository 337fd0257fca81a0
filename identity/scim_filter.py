"""The SCIM filter language (RFC 7644 §3.4.2.2) turned into Django ``Q`` objects.

Supported: ``eq ne co sw ew gt ge lt le pr``, ``and``, ``or``, ``not (...)``, parentheses,
on the attributes a resource type maps (``FIELDS`` of the caller). Value paths
(``emails[type eq "work"]``) are refused as ``invalidFilter``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from django.db.models import Q

TOKEN = re.compile(
    r'\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<str>"(?:[^"\\]|\\.)*")'
    r"|(?P<word>[A-Za-z0-9_:.$\-]+)|(?P<bad>\S))"
)
OPS = {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr"}


class FilterError(ValueError):
    pass


# A field maps an attribute path to a function (op, value) -> Q.
FieldMap = dict[str, Callable[[str, Any], Q]]


def tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.group("bad"):
            raise FilterError(f"unexpected character at {pos}")
        pos = m.end()
        if m.group("lp"):
            out.append(("(", None))
        elif m.group("rp"):
            out.append((")", None))
        elif m.group("str") is not None:
            out.append(("value", json.loads(m.group("str"))))
        else:
            out.append(("word", m.group("word")))
    return out


def parse(text: str, fields: FieldMap) -> Q:
    if len(text) > 2000:
        raise FilterError("filter too long")
    toks = tokens(text)
    pos = 0

    def peek() -> tuple[str, Any] | None:
        return toks[pos] if pos < len(toks) else None

    def take() -> tuple[str, Any]:
        nonlocal pos
        if pos >= len(toks):
            raise FilterError("unexpected end of filter")
        pos += 1
        return toks[pos - 1]

    def is_word(tok, *words: str) -> bool:
        return tok is not None and tok[0] == "word" and tok[1].lower() in words

    def expr_or() -> Q:
        q = expr_and()
        while is_word(peek(), "or"):
            take()
            q = q | expr_and()
        return q

    def expr_and() -> Q:
        q = expr_not()
        while is_word(peek(), "and"):
            take()
            q = q & expr_not()
        return q

    def expr_not() -> Q:
        if is_word(peek(), "not"):
            take()
            if peek() is None or peek()[0] != "(":
                raise FilterError("'not' must be followed by '('")
            return ~atom()
        return atom()

    def atom() -> Q:
        tok = take()
        if tok[0] == "(":
            q = expr_or()
            if take()[0] != ")":
                raise FilterError("missing ')'")
            return q
        if tok[0] != "word":
            raise FilterError("attribute name expected")
        attr = tok[1]
        op_tok = take()
        if op_tok[0] != "word" or op_tok[1].lower() not in OPS:
            raise FilterError(f"unknown operator near {attr!r}")
        op = op_tok[1].lower()
        key = attr.lower()
        for prefix in (
            "urn:ietf:params:scim:schemas:core:2.0:user:",
            "urn:ietf:params:scim:schemas:core:2.0:group:",
        ):
            if key.startswith(prefix):
                key = key[len(prefix) :]
        if key not in fields:
            raise FilterError(f"attribute {attr!r} cannot be filtered on")
        if op == "pr":
            return fields[key]("pr", None)
        vtok = take()
        if vtok[0] == "value":
            value: Any = vtok[1]
        elif vtok[0] == "word" and vtok[1].lower() in ("true", "false", "null"):
            value = {"true": True, "false": False, "null": None}[vtok[1].lower()]
        elif vtok[0] == "word" and re.fullmatch(r"-?\d+(\.\d+)?", vtok[1]):
            value = float(vtok[1]) if "." in vtok[1] else int(vtok[1])
        else:
            raise FilterError(f"value expected after {attr} {op}")
        return fields[key](op, value)

    q = expr_or()
    if pos != len(toks):
        raise FilterError("unexpected text after the filter")
    return q


def text_field(name: str) -> Callable[[str, Any], Q]:
    """A case-insensitive string attribute stored in ``name``."""

    def build(op: str, value: Any) -> Q:
        if op == "pr":
            return Q(**{f"{name}__isnull": False}) & ~Q(**{name: ""})
        if not isinstance(value, str):
            raise FilterError(f"a string is expected for {name}")
        lookup = {
            "eq": "iexact",
            "ne": "iexact",
            "co": "icontains",
            "sw": "istartswith",
            "ew": "iendswith",
            "gt": "gt",
            "ge": "gte",
            "lt": "lt",
            "le": "lte",
        }[op]
        q = Q(**{f"{name}__{lookup}": value})
        return ~q if op == "ne" else q

    return build


def bool_field(name: str) -> Callable[[str, Any], Q]:
    def build(op: str, value: Any) -> Q:
        if op == "pr":
            return Q()
        if op not in ("eq", "ne") or not isinstance(value, bool):
            raise FilterError(f"{name} compares with eq/ne and true/false")
        q = Q(**{name: value})
        return ~q if op == "ne" else q

    return build


def id_field(name: str) -> Callable[[str, Any], Q]:
    def build(op: str, value: Any) -> Q:
        if op == "pr":
            return Q()
        if op not in ("eq", "ne"):
            raise FilterError("ids compare with eq/ne")
        text = str(value)
        q = (
            Q(**{name: int(text)})
            if text.isascii() and text.isdigit() and len(text) < 19
            else Q(pk__in=[])
        )
        return ~q if op == "ne" else q

    return build
