"""The readable-colour helpers: WCAG luminance, contrast, text on any brand colour."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontend.templatetags.brand import (
    BLACK,
    DEFAULT_BRAND,
    PAGE_WASH,
    WHITE,
    brand_color,
    brand_ink,
    contrast_ratio,
    on_brand,
    relative_luminance,
)

hex_colors = st.integers(min_value=0, max_value=0xFFFFFF).map(lambda n: f"#{n:06x}")


def test_luminance_and_contrast_match_wcag_reference_values():
    assert relative_luminance(BLACK) == 0
    assert relative_luminance(WHITE) == pytest.approx(1)
    assert contrast_ratio(BLACK, WHITE) == pytest.approx(21)
    assert contrast_ratio(WHITE, BLACK) == pytest.approx(21)
    # #767676 on white is the classic "just passes AA" grey (4.54:1).
    assert contrast_ratio("#767676", WHITE) == pytest.approx(4.54, abs=0.01)
    assert contrast_ratio("#777777", WHITE) < 4.5


@pytest.mark.parametrize(
    ("brand", "text"),
    [
        ("#1f5f8b", WHITE),  # the default blue
        ("#000000", WHITE),
        ("#ffffff", BLACK),
        ("#ffdd00", BLACK),  # a yellow: white text would be 1.4:1
        ("#00ff00", BLACK),
        ("#b42318", WHITE),
        ("#FFDD00", BLACK),  # upper case is a colour too
    ],
)
def test_on_brand_picks_the_readable_text_colour(brand, text):
    assert on_brand(brand) == text


@given(hex_colors)
def test_text_on_any_brand_colour_passes_aa(color):
    assert contrast_ratio(color, on_brand(color)) >= 4.5


@given(hex_colors)
def test_brand_ink_reads_on_the_page_and_keeps_dark_brands(color):
    ink = brand_ink(color)
    assert contrast_ratio(ink, PAGE_WASH) >= 4.5
    assert contrast_ratio(ink, WHITE) >= 4.5
    if contrast_ratio(color, PAGE_WASH) >= 4.5:
        assert ink == color


def test_brand_ink_darkens_a_light_brand():
    assert brand_ink("#ffdd00") != "#ffdd00"
    assert contrast_ratio(brand_ink("#ffdd00"), PAGE_WASH) >= 4.5


@pytest.mark.parametrize(
    "value",
    ["", None, "red", "#fff", "#12345g", "#1f5f8b; } body { display:none", "</style><script>", 42],
)
def test_anything_but_a_hex_colour_falls_back_to_the_default(value):
    assert brand_color(value) == DEFAULT_BRAND
    assert on_brand(value) == WHITE
