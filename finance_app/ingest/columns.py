"""Which column is the date, the amount, the description…: guessed from header names (English,
German, French, Dutch bank exports) checked against the values, or from the values alone,
then overridden by the user's mapping.

A mapping here is role → 0-based column index (None: no such column); `parsing` turns it into
header names for the outside world.
"""
import unicodedata
from dataclasses import dataclass

from . import values

ROLES = ("date", "amount", "debit", "credit", "direction", "description", "merchant",
         "category", "currency")

# Header names per role, best first, as `normalise` leaves them.
SYNONYMS = {
    "date": (
        "date", "transaction date", "booking date", "posting date", "posted date", "date posted",
        "trans date", "completed date", "started date", "buchungstag", "buchungsdatum", "datum",
        "date operation", "date de l operation", "date comptable", "transactiedatum",
        "boekdatum", "boekingsdatum", "value date", "valuta", "valutadatum", "wertstellung",
        "date valeur", "date de valeur", "rentedatum"),
    "amount": (
        "amount", "transaction amount", "betrag", "umsatz", "montant", "bedrag", "net amount",
        "amount eur", "amt", "sum", "summe", "somme", "transactiebedrag"),
    "debit": (
        "debit", "debit amount", "debits", "withdrawal", "withdrawals", "withdrawal amount",
        "paid out", "money out", "out", "soll", "lastschrift", "belastung", "ausgang", "debet",
        "af", "montant debit", "sortie", "uitgaven", "ausgaben"),
    "credit": (
        "credit", "credit amount", "credits", "deposit", "deposits", "deposit amount", "paid in",
        "money in", "in", "haben", "gutschrift", "eingang", "montant credit", "entree", "bij",
        "inkomsten", "einnahmen"),
    "direction": (
        "debit credit", "credit debit", "af bij", "bij af", "soll haben", "s h", "dr cr",
        "cr dr", "d c", "c d", "debit credit indicator", "credit debit indicator", "direction"),
    "description": (
        "description", "transaction description", "details", "transaction details",
        "narrative", "narration", "particulars", "verwendungszweck", "buchungstext",
        "beschreibung", "vorgang verwendungszweck", "libelle", "libelle operation",
        "libelle de l operation", "detail", "details de l operation", "omschrijving",
        "naam omschrijving", "mededelingen", "text", "purpose", "memo", "notes", "reference"),
    "merchant": (
        "merchant", "merchant name", "payee", "payee name", "payer payee", "counterparty",
        "counter party", "beneficiary", "name", "beguenstigter zahlungspflichtiger",
        "begunstigter zahlungspflichtiger", "auftraggeber begunstigter", "auftraggeber",
        "empfanger", "zahlungsempfanger", "auftraggeber zahlungsempfanger", "naam",
        "tegenpartij", "naam tegenpartij", "beneficiaire", "tiers", "commercant"),
    "category": (
        "category", "categorie", "kategorie", "rubrique", "budget category",
        "spending category", "categorie de l operation"),
    "currency": ("currency", "ccy", "curr", "wahrung", "waehrung", "devise", "valuta", "munt"),
}
# Columns that look like data but are not transactions: never guessed from their values.
NOT_GUESSED = (
    "balance", "running balance", "running bal", "bal", "saldo", "solde", "kontostand",
    "reference", "ref", "id", "transaction id", "iban", "bic", "blz", "account", "account number",
    "konto", "kontonummer", "rekening", "tegenrekening", "check number", "check or slip",
    "card no", "card number", "fee", "fees", "gebuhr", "frais")
DIRECTION_WORDS = {
    "af": True, "bij": False, "d": True, "c": False, "dr": True, "cr": False, "db": True,
    "debit": True, "credit": False, "s": True, "h": False, "soll": True, "haben": False,
    "debet": True, "-": True, "+": False, "out": True, "in": False}


def normalise(name):
    """`Date opération` → `date operation`, `Betrag (EUR)` → `betrag eur`."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return " ".join("".join(c if c.isalnum() else " " for c in plain).split())


def _name_score(words, synonym):
    """3: the name is the synonym; 2: it starts with it; 1: it contains it; 0: no."""
    if words == synonym:
        return 3
    if len(" ".join(synonym)) < 4:  # `in`, `af`, `s h` only count as the whole name
        return 0
    n = len(synonym)
    if words[:n] == synonym:
        return 2
    return 1 if any(words[i:i + n] == synonym for i in range(1, len(words) - n + 1)) else 0


def _best_synonym(name, synonyms):
    """(score, rank) of the best synonym `name` matches, or None."""
    words = tuple(normalise(name).split())
    matches = [(_name_score(words, tuple(s.split())), rank) for rank, s in enumerate(synonyms)]
    matches = [(score, rank) for score, rank in matches if score]
    return max(matches, key=lambda m: (m[0], -m[1])) if matches else None


def named_column(header, roles):
    """The index of the column whose header best names one of `roles` (by name alone, values
    unchecked), or None: for saying why a named column was not taken."""
    scored = [(match[0], -match[1], -col) for col, name in enumerate(header or ())
              for role in roles if (match := _best_synonym(name, SYNONYMS[role]))]
    return -max(scored)[2] if scored else None


def known_header(name):
    """True when `name` is a header this module knows (for header-row detection)."""
    return any(_best_synonym(name, s) for s in (*SYNONYMS.values(), NOT_GUESSED))


@dataclass
class Profile:
    """What the sampled values of one column look like."""
    filled: int = 0
    dates: int = 0
    numbers: int = 0
    decimals: int = 0
    codes: int = 0
    directions: int = 0
    length: int = 0

    def add(self, text):
        text = text.strip()
        if not text:
            return
        self.filled += 1
        self.length += len(text)
        self.dates += values.is_date(text)
        if values.is_amount(text):
            self.numbers += 1
            self.decimals += any(sep in text for sep in ".,")
        self.codes += values.is_currency(text)
        self.directions += text.lower() in DIRECTION_WORDS

    def share(self, count):
        return count / self.filled if self.filled else 0.0

    def fits(self, role, named):
        """Whether the values allow `role`. A column whose header `named` the role needs half
        its sampled values to fit (and an empty sample will do); a guess from values alone,
        four in five."""
        if not self.filled:
            return named
        threshold = 0.5 if named else 0.8
        dates, numbers = self.share(self.dates), self.share(self.numbers)
        if role == "date":
            return dates >= threshold
        if role in ("amount", "debit", "credit"):
            return numbers >= threshold and dates < 0.5
        if role == "currency":
            return self.share(self.codes) >= threshold
        if role == "direction":
            return self.share(self.directions) >= threshold
        return dates < 0.5 and numbers < 0.5


def profile(rows, width):
    """One Profile per column from sampled rows (lists of cells)."""
    profiles = [Profile() for _ in range(width)]
    for row in rows:
        for p, cell in zip(profiles, row):
            p.add(cell)
    return profiles


def guess(header, profiles):
    """role → column index, from the header (a list of names, or None) and the profiles."""
    mapping, used = {}, set()

    def assign(role, col):
        mapping[role] = col
        used.add(col)

    if header:
        candidates = []
        for col, name in enumerate(header):
            for role, synonyms in SYNONYMS.items():
                match = _best_synonym(name, synonyms)
                if match and profiles[col].fits(role, named=True):
                    candidates.append((-match[0], match[1], col, role))
        for _, _, col, role in sorted(candidates):
            if role not in mapping and col not in used:
                assign(role, col)
    if "amount" in mapping:
        for role in ("debit", "credit"):
            used.discard(mapping.pop(role, None))
    else:
        used.discard(mapping.pop("direction", None))

    ignored = {col for col, name in enumerate(header or ()) if _best_synonym(name, NOT_GUESSED)}
    free = [col for col in range(len(profiles)) if col not in used and col not in ignored]
    if "date" not in mapping:
        dated = [c for c in free if profiles[c].fits("date", named=False)]
        if dated:
            assign("date", max(dated, key=lambda c: (profiles[c].share(profiles[c].dates), -c)))
            free.remove(mapping["date"])
    if not {"amount", "debit", "credit"} & mapping.keys():
        numeric = [c for c in free if profiles[c].fits("amount", named=False)]
        if numeric:
            # A column of amounts has decimals; a column of reference numbers has none.
            assign("amount", max(numeric,
                                 key=lambda c: (profiles[c].share(profiles[c].decimals), -c)))
            free.remove(mapping["amount"])
    if "description" not in mapping:
        texts = [c for c in free if profiles[c].fits("description", named=False)]
        if "merchant" in mapping:
            texts.append(mapping["merchant"])
        if texts:
            longest = max(texts, key=lambda c: (profiles[c].share(profiles[c].length), -c))
            if longest == mapping.get("merchant"):
                del mapping["merchant"]
            assign("description", longest)
    return {role: mapping.get(role) for role in ROLES}


class MappingProblem(ValueError):
    """A user's mapping that cannot apply to this file; the message names the problem."""


def _column_index(value, columns):
    """The index of the column `value` names (a header name or a 0-based index), or None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value < len(columns) else None
    if not isinstance(value, str):
        return None
    if value in columns:
        return columns.index(value)
    wanted = normalise(value)
    for index, name in enumerate(columns):
        if wanted and normalise(name) == wanted:
            return index
    if value.strip().isdigit() and int(value) < len(columns):
        return int(value)
    return None


def override(guessed, wanted, columns):
    """`guessed` (role → index) with the user's `wanted` (role → column name or index, None
    for no column) applied. Naming an amount drops guessed debit/credit columns and naming
    debit or credit drops a guessed amount, unless the user named those too."""
    mapping = dict(guessed)
    chosen = {}
    for role, value in wanted.items():
        if value is None or value == "":
            chosen[role] = None
            continue
        chosen[role] = _column_index(value, columns)
        if chosen[role] is None:
            raise MappingProblem(
                f"The column {value!r} chosen for {role} is not in the file; its columns are: "
                + ", ".join(columns) + ".")
    if chosen.get("amount") is not None:
        for role in ("debit", "credit"):
            if role not in chosen:
                mapping[role] = None
    if chosen.get("debit") is not None or chosen.get("credit") is not None:
        if "amount" not in chosen:
            mapping["amount"] = None
    taken = {col for col in chosen.values() if col is not None}
    for role, col in mapping.items():
        if role not in chosen and col in taken:
            mapping[role] = None
    mapping.update(chosen)
    return mapping
