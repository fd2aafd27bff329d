"""Varied bank exports made from a seed, for the test that parsing and fingerprints stay
byte-identical (test_parsing_identical.py): several dialects and encodings, header
currencies, signs, thousand separators, date formats, debit/credit and Af/Bij columns,
currency columns, quoted multi-line text, preambles, duplicates and bad lines of every kind.

`random.Random(seed)` gives the same sequence on every Python 3, so the files are the same
wherever the test runs. Each sample is (name, bytes, mapping or None).
"""
import random
from datetime import date, timedelta

MERCHANTS = ["REWE", "EDEKA Center", "Deutsche Bahn", "Amazon.de", "Spotify AB", "Shell 1234",
             "Lidl", "IKEA", "Bäckerei Müller", "Café Crème", "Żabka", "  Tesco  Metro ",
             "McDONALD'S", "straße / Strasse", "Uber *Trip", "Albert Heijn 1403"]
WORDS = ["Kartenzahlung", "Lastschrift", "SEPA", "ref", "Gehalt", "Miete", "card payment",
         "Paiement CB", "Überweisung", "invoice", "Rückerstattung", "PAYPAL *SHOP"]


def _text(rng, i):
    words = [rng.choice(MERCHANTS), *rng.sample(WORDS, rng.randint(0, 2))]
    if rng.random() < 0.3:
        words.append(f"ref {i}")
    text = " ".join(words)
    if rng.random() < 0.1:
        text = text.upper()
    if rng.random() < 0.05:
        text = text.replace(" ", "  ")
    return text


def _cents(rng):
    """Signed cents: mostly small spending, some income, some large, some zero."""
    pick = rng.random()
    if pick < 0.05:
        return 0
    if pick < 0.15:
        return rng.randint(1_000_00, 9_999_999_99) * rng.choice((-1, 1))
    if pick < 0.3:
        return rng.randint(1, 5000_00)
    return -rng.randint(1, 300_00)


def _grouped(whole, sep):
    digits = str(whole)
    groups = []
    while len(digits) > 3:
        digits, group = digits[:-3], digits[-3:]
        groups.insert(0, group)
    return sep.join([digits, *groups])


def _number(cents, decimal, group=None, places=2):
    whole, fraction = divmod(abs(cents), 100)
    text = _grouped(whole, group) if group else str(whole)
    if places:
        text += decimal + f"{fraction:02d}"[:places]
    return text


def _days(rng, start, n):
    day = start
    for _ in range(n):
        yield day
        day += timedelta(days=rng.choice((0, 0, 1, 1, 2, 5)))


def _quote(cell, delimiter):
    if any(c in cell for c in (delimiter, '"', "\n", "\r")) or cell != cell.strip():
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _table(header, rows, delimiter, newline="\n"):
    lines = [delimiter.join(_quote(c, delimiter) for c in row)
             for row in ([header] if header else []) + rows]
    return newline.join(lines) + newline


def german(rng):
    """Sparkasse-like: preamble, `;`, DD.MM.YYYY, `1.234,56`, header currency, cp1252."""
    rows = []
    for i, day in enumerate(_days(rng, date(2023, 12, 28), 60)):
        cents = _cents(rng)
        amount = ("-" if cents < 0 else "") + _number(cents, ",", rng.choice((None, ".")))
        if rng.random() < 0.1:
            amount += " EUR"
        rows.append([f"{day:%d.%m.%Y}", f"{day + timedelta(days=1):%d.%m.%Y}",
                     rng.choice(MERCHANTS).strip(), _text(rng, i), amount])
    rows[7][4] = "1.234.567"         # grouping only: one million and more
    rows[9][4] = "12,345"            # three decimals
    rows[11][0] = "30.02.2024"       # no such day
    rows[13][3] = ""                 # description empty: the merchant is taken
    rows[15][4] = ""                 # no amount
    rows[17][0] = "01.01.1899"       # before the first accepted date
    rows[19][4] = "--12,00"          # two signs
    rows[21][4] = "12.00"            # a dot in a comma column: grouping, so 1200
    rows[23][4] = "1.23"             # not a group of three
    rows[25] = rows[24][:]           # a duplicate line: numbered occurrences
    rows[26][3] = rows[24][3].upper().replace(" ", "  ")  # the same after casefold
    rows[26][0], rows[26][4] = rows[24][0], rows[24][4]
    preamble = "Kontonummer;1234567890\nZeitraum;01.12.2023 - 31.03.2024\n;;;;\n"
    header = ["Buchungstag", "Valuta", "Auftraggeber/Empfänger", "Verwendungszweck",
              "Betrag (EUR)"]
    text = preamble + _table(header, rows, ";")
    return text.encode("cp1252", errors="replace")


def us_dollars(rng):
    """`,`, MM/DD/YYYY, `$1,234.56`, `($12.00)`, `-$45.10`, quoted commas and newlines."""
    rows = []
    for i, day in enumerate(_days(rng, date(2024, 1, 15), 50)):
        cents = _cents(rng)
        number = "$" + _number(cents, ".", ",")
        style = rng.random()
        if cents >= 0:
            amount = number if style < 0.7 else "+" + number
        elif style < 0.4:
            amount = f"({number})"
        elif style < 0.8:
            amount = "-" + number
        else:
            amount = number + "-"
        description = _text(rng, i)
        if rng.random() < 0.15:
            description = description.replace(" ", ", ", 1)
        if rng.random() < 0.05:
            description += "\nsecond line"
        rows.append([f"{day.month}/{day.day}/{day:%Y}", description, amount])
    rows[5][2] = "(-$3.00)"          # two signs
    rows[8][2] = "$1,23.00"          # bad grouping
    rows[12][0] = "13/13/2024"       # no such month
    rows[14][2] = "N/A"
    rows[16][1] = '   "quoted"   '
    rows[20] = rows[20][:2]          # a field short
    rows[22].append("extra")         # a field too many
    rows[24][2] = "12345678901.00"   # more than 10 digits
    rows[26][2] = "0000000000012.50"  # leading zeros do not count
    return _table(["Date", "Description", "Amount"], rows, ",", "\r\n").encode()


def uk_debit_credit(rng):
    """Debit and credit columns, DD/MM/YYYY (ambiguous at first), `£`, a balance column."""
    rows, balance = [], 1_000_00
    for i, day in enumerate(_days(rng, date(2024, 2, 1), 45)):
        cents = _cents(rng)
        balance += cents
        debit = _number(cents, ".", ",") if cents < 0 else ""
        credit = _number(cents, ".", ",") if cents > 0 else ""
        if rng.random() < 0.1 and debit:
            debit = "£" + debit
        rows.append([f"{day:%d/%m/%Y}", _text(rng, i), debit, credit,
                     _number(balance, ".", ",")])
    rows[3][2], rows[3][3] = "", ""  # both empty
    rows[6][2], rows[6][3] = "1.00", "5.00"  # both: credit − debit
    rows[9][2] = "-7.25"             # a signed debit
    rows[12][3] = "1.234"            # three decimals in a dot column
    header = ["Transaction Date", "Transaction Description", "Debit Amount", "Credit Amount",
              "Balance"]
    return _table(header, rows, ",").encode("cp1252", errors="replace")


def dutch_af_bij(rng):
    """ING-like: tab, YYYYMMDD, an Af Bij column giving the sign, `12,50`."""
    rows = []
    for i, day in enumerate(_days(rng, date(2024, 3, 1), 40)):
        cents = _cents(rng)
        rows.append([f"{day:%Y%m%d}", _text(rng, i), "NL00BANK0123456789",
                     "Af" if cents < 0 else rng.choice(("Bij", "bij", "BIJ")),
                     _number(cents, ","), rng.choice(("Betaalautomaat", "Online bankieren")),
                     ""])
    rows[4][3] = "X"                 # not an indicator
    rows[6][4] = "-3,00"             # signed anyway: the indicator decides
    rows[8][0] = "2024031"           # not a date
    header = ["Datum", "Naam / Omschrijving", "Rekening", "Af Bij", "Bedrag (EUR)",
              "Mutatiesoort", "Mededelingen"]
    return _table(header, rows, "\t").encode()


def french(rng):
    """`;`, DD/MM/YYYY, `1 234,56` with no-break spaces, débit/crédit, UTF-8 with a BOM."""
    rows = []
    for i, day in enumerate(_days(rng, date(2024, 1, 20), 35)):
        cents = _cents(rng)
        number = _number(cents, ",", rng.choice((" ", "\u00a0", "\u202f", None)))
        rows.append([f"{day:%d/%m/%Y}", _text(rng, i),
                     number if cents < 0 else "", number if cents >= 0 else ""])
    rows[2][2] = "1 23,00"           # bad grouping
    rows[5][3] = "12.50"             # a dot in a comma column
    header = ["Date opération", "Libellé", "Débit", "Crédit"]
    return b"\xef\xbb\xbf" + _table(header, rows, ";", "\r\n").encode()


def fintech(rng):
    """Timestamps, a currency column (codes, symbols, lower case, bad ones), `12.00 DR`."""
    rows = []
    for i, day in enumerate(_days(rng, date(2024, 4, 1), 45)):
        cents = _cents(rng)
        style = rng.random()
        number = _number(cents, ".")
        if style < 0.2:
            amount = number + (" DR" if cents < 0 else " CR")
        elif style < 0.3:
            amount = ("−" if cents < 0 else "") + number  # a Unicode minus
        elif style < 0.35:
            amount = ("–" if cents < 0 else "") + number  # an en dash
        elif style < 0.45:
            amount = ("USD " if cents % 2 else "GBP ") + ("-" if cents < 0 else "") + number
        else:
            amount = ("-" if cents < 0 else "") + number
        stamp = f"{day:%Y-%m-%d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:" \
                f"{rng.randint(0, 59):02d}"
        if rng.random() < 0.2:
            stamp = stamp.replace(" ", "T") + "Z"
        currency = rng.choice(("EUR", "EUR", "usd", "€", "£", "", "GBP"))
        rows.append([stamp, stamp, _text(rng, i), amount, currency, "COMPLETED"])
    rows[3][4] = "EURO"              # not a code
    rows[5][4] = "$"                 # which dollar?
    rows[7][3] = "12.00 DR-"         # two signs
    rows[9][0] = rows[9][1] = "2204-01-01 10:00:00"  # beyond the last accepted date
    rows[11][3] = "١٢.٣٤"            # digits of another script
    header = ["Started Date", "Completed Date", "Description", "Amount", "Currency", "State"]
    return _table(header, rows, ",").encode()


def no_header(rng):
    """No header row, `;` with a trailing delimiter, DD MMM YYYY dates, merchant only."""
    rows = []
    for i, day in enumerate(_days(rng, date(2023, 11, 25), 30)):
        cents = _cents(rng)
        rows.append([f"{day:%d %b %Y}", ("-" if cents < 0 else "") + _number(cents, ","),
                     _text(rng, i), ""])
    rows[4][0] = "31 Foo 2024"
    rows[6][0] = "Mar 31, 2024"      # another date format: not this column's
    return _table(None, rows, ";").encode()


def ambiguous(rng):
    """Dates whose day and month are both ≤ 12: read day-first with a warning; blank lines,
    a multi-line quoted description and an unclosed quote on the last line."""
    lines = ["Date,Description,Amount,Category"]
    for i in range(25):
        day = date(2024, rng.randint(1, 12), rng.randint(1, 12))
        cents = _cents(rng)
        lines.append(f"{day:%m/%d/%y},{_quote(_text(rng, i), ',')},"
                     f"{'-' if cents < 0 else ''}{_number(cents, '.')},"
                     f"{rng.choice(('Groceries', '', 'Travel', 'Rent'))}")
        if i % 7 == 3:
            lines.append("")
        if i % 9 == 4:
            lines.append(' , , , ')
    lines.append('01/02/24,"multi\nline\n  text",-1.00,')
    lines.append('02/03/24,"not closed,-2.00,')
    return ("\n".join(lines) + "\n").encode()


def header_currencies(rng):
    """An amount header naming its currency ("Amount [€]") and amounts without decimals."""
    rows = []
    for i, day in enumerate(_days(rng, date(2024, 6, 1), 20)):
        cents = _cents(rng) // 100 * 100
        rows.append([f"{day:%Y/%m/%d}", _text(rng, i), rng.choice(MERCHANTS).strip(),
                     ("-" if cents < 0 else "") + _number(cents, ".", "'", places=0)])
    return _table(["Posted Date", "Memo", "Payee", "Amount [€]"], rows, ",").encode()


def utf16(rng):
    """UTF-16 with a byte order mark, tab-delimited, `Amount in GBP`."""
    rows = []
    for i, day in enumerate(_days(rng, date(2024, 5, 5), 15)):
        cents = _cents(rng)
        rows.append([f"{day:%d-%m-%Y}", _text(rng, i), ("-" if cents < 0 else "")
                     + _number(cents, ".", ",")])
    return _table(["Date", "Details", "Amount in GBP"], rows, "\t", "\r\n").encode("utf-16")


def samples(seed=13):
    rng = random.Random(seed)
    german_bytes, us_bytes = german(rng), us_dollars(rng)
    ambiguous_bytes = ambiguous(rng)
    return [
        ("german", german_bytes, None),
        ("german, decimal '.' chosen", german_bytes, {"decimal": "."}),
        ("us dollars", us_bytes, None),
        ("us dollars, DD/MM/YYYY chosen", us_bytes, {"date_format": "DD/MM/YYYY"}),
        ("uk debit/credit", uk_debit_credit(rng), None),
        ("dutch af/bij", dutch_af_bij(rng), None),
        ("french", french(rng), None),
        ("fintech", fintech(rng), None),
        ("no header", no_header(rng), None),
        ("no header, columns by index", no_header(rng),
         {"date": 0, "amount": 1, "description": 2, "merchant": None}),
        ("ambiguous", ambiguous_bytes, None),
        ("ambiguous, month-first chosen", ambiguous_bytes,
         {"date_format": "MM/DD/YY", "category": None}),
        ("header currencies", header_currencies(rng), None),
        ("utf-16", utf16(rng), None),
    ]
