"""Plain text the app writes for people, shown on pages.

Messages (preflight checks, errors, flashes) name commands and fields in backticks, as
Markdown does — readable in JSON and logs. On a page they become `<code>`: `code_spans` is
registered as a Jinja filter.
"""
import re

from markupsafe import Markup, escape

_SPAN = re.compile(r"`([^`\n]+)`")


def code_spans(text):
    """`text`, HTML-escaped, with each `span` in backticks as <code>span</code>."""
    return Markup(_SPAN.sub(r"<code>\1</code>", str(escape(text))))


def install(app):
    app.add_template_filter(code_spans)
