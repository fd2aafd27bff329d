"""Money as people read it, on pages: `{{ amount|money(currency) }}` → "−€1,234.50".

Only pages format money. JSON keeps amounts as decimal strings beside a `currency` field, so
nothing a client parses depends on the reader's locale.

The locale is the best match of the request's Accept-Language among SUPPORTED_LOCALES, else
the configured DEFAULT_LOCALE; it is worked out once per request.

Memory: Babel's modules are imported at start-up whatever this module does (Flask-WTF's
optional i18n support imports `babel.support` once Babel is installed); the part that costs
is each locale's data (about 4.5 MB for the first, 8.5 MB for all of SUPPORTED_LOCALES,
measured with Babel 2.18), which Babel loads on the first amount formatted in that locale.
"""
from decimal import Decimal

from babel.numbers import format_currency
from flask import current_app, g, has_request_context, request

# Locales whose formats the app offers, as Babel names them.
SUPPORTED_LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "nl_NL", "es_ES")
# Babel writes a minus as the locale's ASCII hyphen; U+2212 is the minus sign proper, which
# reads as one at a glance and is read out as "minus" by screen readers.
MINUS = "\u2212"


def request_locale():
    """The locale this request's amounts are shown in (memoised on `g`)."""
    default = current_app.config["DEFAULT_LOCALE"]
    if not has_request_context():
        return default
    if "money_locale" not in g:
        # The default first: a browser that accepts anything ("*") gets the default.
        offered = [default] + [name for name in SUPPORTED_LOCALES if name != default]
        best = request.accept_languages.best_match([name.replace("_", "-") for name in offered])
        g.money_locale = best.replace("-", "_") if best else default
    return g.money_locale


def format_money(amount, currency, locale=None):
    """`amount` (a Decimal, or a decimal string as the services return) in `currency`, with
    the currency's symbol, the locale's grouping and a true minus sign."""
    text = format_currency(Decimal(amount), currency, locale=locale or request_locale())
    return text.replace("-", MINUS, 1)


def install(app):
    app.add_template_filter(format_money, "money")
