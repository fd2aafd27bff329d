"""Text colours of the stylesheet against the backgrounds they sit on reach WCAG AA for
normal text (4.5:1): links and buttons (the accent), muted text, the good and bad amounts."""
import re
from pathlib import Path

import pytest

STYLE = Path(__file__).resolve().parent.parent / "finance_app" / "static" / "style.css"
WHITE = "#ffffff"


def colours():
    """The palette of `:root`, every colour as #rrggbb (#fff is #ffffff)."""
    found = re.findall(r"--([a-z]+):#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b", STYLE.read_text())
    return {name: "#" + (value if len(value) == 6 else "".join(c * 2 for c in value))
            for name, value in found}


def luminance(hex_colour):
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a, b):
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("text, background", [
    ("accent", "card"), ("accent", "bg"), ("muted", "card"), ("muted", "bg"),
    ("good", "card"), ("bad", "card"), ("fg", "bg"),
])
def test_text_colour_reaches_aa(text, background):
    palette = colours()
    assert contrast(palette[text], palette[background]) >= 4.5, (text, background)


def test_white_on_the_accent_button_reaches_aa():
    assert contrast(WHITE, colours()["accent"]) >= 4.5
