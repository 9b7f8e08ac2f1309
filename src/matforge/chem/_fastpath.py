"""The vectorized fast path of `parse_formula` for plain formulas, over a whole column at once.

Most real and generated formulas are plain: element symbols, each followed by an optional decimal number
(``Fe2O3``, ``Ba0.5Sr0.5TiO3``), possibly with one level of parentheses (``Ca3(PO4)2``, about one formula in
eight of matbench_expt_gap). Those are parsed here with numpy over one byte buffer holding the whole
column; every other formula (brackets, hydrates, spaces, repeated elements, unknown symbols, anything
unusual) is marked for the one Python parser in `matforge.chem._formula`, so that results and error messages
come from a single grammar. A test checks that both paths give identical amounts.

Numbers are read as an exact integer mantissa divided by ``10**k``; with at most 15 significant digits both
operands are exact doubles and IEEE division rounds correctly, so the value equals ``float(text)`` bit for
bit, as the Python parser's.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from matforge.chem._formula import _ALIASES, ELEMENT_INDEX

__all__ = ["parse_plain"]

_OTHER, _UPPER, _LOWER, _DIGIT, _DOT, _OPEN, _CLOSE = 0, 1, 2, 3, 4, 5, 6
_MAX_DIGITS = 15  # 10**15 < 2**53: the integer mantissa is an exact double
_MAX_SYMBOLS = 12  # element symbols per formula on the fast path
_POW10 = 10 ** np.arange(_MAX_DIGITS + 1, dtype=np.int64)
_POW10_FLOAT = 10.0 ** np.arange(_MAX_DIGITS + 1)
# adducts after which a '.' separates a hydrate part instead of being a decimal point (as _HYDRATE_DOT)
_ADDUCTS = (b"H2O", b"D2O", b"T2O", b"NH3")


@lru_cache(maxsize=1)
def _tables() -> tuple[np.ndarray, np.ndarray]:
    """Byte → character class, and (first byte · 256 + second byte) → element index (-1: not a symbol)."""
    classes = np.zeros(256, dtype=np.int8)
    classes[ord("A") : ord("Z") + 1] = _UPPER
    classes[ord("a") : ord("z") + 1] = _LOWER
    classes[ord("0") : ord("9") + 1] = _DIGIT
    classes[ord(".")] = _DOT
    classes[ord("(")] = _OPEN
    classes[ord(")")] = _CLOSE
    symbols = np.full(65536, -1, dtype=np.int16)
    for sym, index in list(ELEMENT_INDEX.items()) + [(a, ELEMENT_INDEX[h]) for a, h in _ALIASES.items()]:
        code = ord(sym[0]) * 256 + (ord(sym[1]) if len(sym) > 1 else 0)
        symbols[code] = index
    return classes, symbols


def parse_plain(texts: list) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Parse the plain formulas of `texts` with numpy.

    Returns ``(done, counts, elements, amounts)``: ``done[i]`` says row i was parsed here (else it goes to the
    Python parser), ``counts[i]`` its number of elements (0 when not done), and the flat ``elements`` (int16
    index into `ELEMENT_SYMBOLS`) and ``amounts`` of the done rows in row order, elements in order of
    appearance, exactly as `parse_formula` would give them.
    """
    n = len(texts)
    done = np.zeros(n, dtype=bool)
    empty = (done, np.zeros(n, dtype=np.int64), np.zeros(0, dtype=np.int16), np.zeros(0))
    if n == 0:
        return empty
    # one buffer for the column, each formula followed by a separator byte of class _OTHER; four more
    # separator bytes let every look-ahead below read past the end without bounds checks
    try:
        joined = "|".join(texts) + "|||||"
        plain = joined.isascii()
    except TypeError:  # None, NaN or numbers among the texts
        plain = False
    if plain:
        is_text = np.ones(n, dtype=bool)
        strings = texts
    else:
        is_text = np.fromiter((isinstance(t, str) and t.isascii() for t in texts), dtype=bool, count=n)
        strings = [t if ok else "" for t, ok in zip(texts, is_text, strict=False)]
        joined = "|".join(strings) + "|||||"
    lengths = np.fromiter(map(len, strings), dtype=np.int64, count=n)
    buffer = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
    classes, symbols = _tables()
    cls = classes[buffer]
    row_start = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]])
    row_of = np.repeat(np.arange(n, dtype=np.int64), lengths + 1)
    size = len(row_of)  # characters of the rows plus one separator each
    cls_here, cls_prev, cls_next = cls[:size], np.concatenate([[_OTHER], cls[: size - 1]]), cls[1 : size + 1]

    # what a plain formula may not contain, per character: separators belong to no row, so they are excluded
    separator = np.zeros(size, dtype=bool)
    separator[row_start + lengths] = True
    numeric = (cls_here == _DIGIT) | (cls_here == _DOT)
    numeric_prev = (cls_prev == _DIGIT) | (cls_prev == _DOT)
    number_start = numeric & ~numeric_prev
    bad = ((cls_here == _OTHER) & ~separator)
    bad |= (cls_here == _LOWER) & (cls_prev != _UPPER)
    # a number needs a symbol or a closing parenthesis before it
    bad |= number_start & (cls_prev != _UPPER) & (cls_prev != _LOWER) & (cls_prev != _CLOSE)
    # parentheses: one level, balanced within the row, never empty
    opens = np.flatnonzero(cls_here == _OPEN)
    closes = np.flatnonzero(cls_here == _CLOSE)
    if len(opens) or len(closes):
        delta = np.zeros(size, dtype=np.int64)
        delta[opens] = 1
        delta[closes] = -1
        level = np.cumsum(delta, dtype=np.int32)
        level -= np.concatenate([[0], level])[row_start][row_of]  # restart the count at each row
        bad |= (level < 0) | (level > 1)
        bad[row_start + lengths] |= level[row_start + lengths] != 0  # unclosed at the end of the row
        bad[opens[cls_next[opens] == _CLOSE]] = True
    dots = np.flatnonzero(cls_here == _DOT)
    bad[dots[cls_next[dots] != _DIGIT]] = True  # '.' before a letter or at the end: a hydrate or a typo
    is_upper = cls_here == _UPPER
    uppers = np.flatnonzero(is_upper)
    second = np.where(cls_next[uppers] == _LOWER, buffer[uppers + 1], 0).astype(np.int64)
    element = symbols[buffer[uppers].astype(np.int64) * 256 + second]
    bad[uppers[element < 0]] = True

    # numbers: maximal runs of digits and dots, valued as mantissa / 10**(digits after the dot)
    starts = np.flatnonzero(number_start)
    # int32 running counts: numpy sums booleans into int32 many times faster than into its default int64
    run_of = np.cumsum(number_start, dtype=np.int32) - 1
    digit = cls_here == _DIGIT
    digits_before = np.cumsum(digit, dtype=np.int32)  # digits up to and including each character
    ends = np.flatnonzero(numeric & ~np.concatenate([numeric[1:], [False]])) + 1
    n_digits = digits_before[ends - 1] - digits_before[starts] + digit[starts]
    n_dots = np.bincount(run_of[dots], minlength=len(starts))
    too_long = (n_digits > _MAX_DIGITS) | (n_dots > 1)
    bad[starts[too_long]] = True
    if len(dots):
        # "CuSO4.5H2O": a '.' then an integer then an adduct separates a hydrate part
        run_end = ends[run_of[dots]]
        followed = np.zeros(len(dots), dtype=bool)
        for adduct in _ADDUCTS:
            match = np.ones(len(dots), dtype=bool)
            for offset, char in enumerate(adduct):
                match &= buffer[run_end + offset] == char
            followed |= match & (cls[run_end + len(adduct)] != _LOWER)
        bad[dots[followed]] = True
    positions = np.flatnonzero(digit)
    exponent = np.minimum(digits_before[ends[run_of[positions]] - 1] - digits_before[positions], _MAX_DIGITS)
    terms = np.zeros(size, dtype=np.int64)
    terms[positions] = (buffer[positions].astype(np.int64) - ord("0")) * _POW10[exponent]
    mantissa = np.add.reduceat(terms, starts) if len(starts) else np.zeros(0, dtype=np.int64)
    fraction_digits = np.zeros(len(starts), dtype=np.int64)
    if len(dots):
        fraction_digits[run_of[dots]] = digits_before[ends[run_of[dots]] - 1] - digits_before[dots]
    value = mantissa.astype(np.float64) / _POW10_FLOAT[np.minimum(fraction_digits, _MAX_DIGITS)]

    # each symbol's amount: the number right after it, else 1; inside parentheses times the group's number
    symbol_end = uppers + 1 + (cls_next[uppers] == _LOWER)
    amount = np.ones(len(uppers))
    has_number = number_start[symbol_end]
    amount[has_number] = value[run_of[symbol_end[has_number]]]
    if len(opens) and len(closes):
        inside = np.flatnonzero(level[uppers] == 1)
        # in a well-formed row the first ')' after a symbol closes its group; other rows are already bad
        close = closes[np.minimum(np.searchsorted(closes, uppers[inside]), len(closes) - 1)]
        multiplied = number_start[close + 1]
        amount[inside[multiplied]] *= value[run_of[close[multiplied] + 1]]

    row_bad = np.zeros(n, dtype=bool)
    row_bad[row_of[np.flatnonzero(bad)]] = True
    symbol_row = row_of[uppers]
    row_bad[symbol_row[amount <= 0]] = True  # zero amounts and zero totals: the Python parser decides
    row_bad[~is_text | (lengths == 0)] = True
    # repeated elements are summed by the Python parser in its own order; they are rare, so send them there
    counts = np.bincount(symbol_row, minlength=n)
    # compare each symbol with the few before it in its row (cheaper than sorting); rows with more symbols
    # than that are left to the Python parser as well
    row_bad[counts > _MAX_SYMBOLS] = True
    for lag in range(1, min(_MAX_SYMBOLS, len(uppers))):
        same = (element[lag:] == element[:-lag]) & (symbol_row[lag:] == symbol_row[:-lag])
        row_bad[symbol_row[lag:][same]] = True
    row_bad[counts == 0] = True

    keep = ~row_bad[symbol_row]
    done = ~row_bad
    counts = np.where(done, counts, 0)
    return done, counts, element[keep].astype(np.int16), amount[keep]
