"""The one parser of typed text: engine syntax is never passed through."""

from __future__ import annotations

import pytest

from search.query import MAX_QUERY_LENGTH, QueryTooLong, parse, to_fts5, to_tsquery


def test_words_phrases_exclusions_and_prefix():
    parsed = parse('Pelican "brown bird" -white fly')
    assert parsed.terms == ["pelican"]
    assert parsed.phrases == [["brown", "bird"]]
    assert parsed.excluded == ["white"]
    assert parsed.prefix == "fly"
    assert to_fts5(parsed) == '"pelican" AND "brown bird" AND "fly" * NOT "white"'
    assert to_tsquery(parsed) == "pelican & (brown <-> bird) & fly:* & !white"


def test_a_trailing_space_or_a_single_letter_is_no_prefix():
    assert parse("pelican ").prefix is None
    assert parse("pelican b").prefix is None and parse("pelican b").terms == ["pelican", "b"]


@pytest.mark.parametrize(
    "text", ['"', '"a', "a)", "((a", "NEAR(a b, 2)", "a*", "*", "col:a", "^a", "a & !b | (c"]
)
def test_operators_are_words_or_nothing(text):
    parsed = parse(text)
    for word in parsed.words() + parsed.excluded:
        assert word.isalnum()


def test_only_exclusions_is_empty():
    assert parse("-pelican").is_empty
    assert parse("  ").is_empty


def test_length_and_term_bounds():
    with pytest.raises(QueryTooLong):
        parse("a" * (MAX_QUERY_LENGTH + 1))
    assert len(parse(" ".join(["w"] * 50)).words()) == 12
