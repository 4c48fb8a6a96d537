"""Redact personal data from free text before it is stored or logged.

Users paste their own details into questions and comments («我的身份证号是…，手机…»).
None of it is needed to improve answers, so it is replaced by labelled placeholders
before anything reaches disk or a log: 身份证号, 手机号, 银行卡号 and e-mail addresses.

People write these numbers in many ways: full-width from a Chinese IME
(１３８１２３４５６７８), in groups (110101 19900307 1233, 138-1234-5678), with a
full-width ＠ or ．in a mailbox. Matching runs on a folded copy of the text in which each
such character is replaced by its ASCII twin *one for one*, so a match's span in the copy
is its span in the original: exactly those characters — full-width digits and the spaces
between groups included — become the placeholder, and the rest stays as written.

A false positive would corrupt quoted policy text (answers and citations are stored
too), so each kind demands an exact digit count with no digit directly before or after,
and the long numbers must pass their checks: an ID its area code, birth date and
GB 11643 check digit; a bank card the Luhn check and a bank's leading digit. The ordinary
numbers of policy text (2000多名, 1.91亿个, 2021年12月, 13家, 国办发〔2020〕45号, the
12345 hotline, amounts, a row of years) stay untouched.

`install_log_redaction` does the same for logging: every record of every logger —
uvicorn's, httpx's and chromadb's included — is redacted before a handler prints it.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import traceback
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date
from types import TracebackType
from typing import Any

ID_CARD = "〔身份证号〕"
MOBILE = "〔手机号〕"
BANK_CARD = "〔银行卡号〕"
EMAIL = "〔邮箱〕"

# ---- folding: one character for one, so spans carry over to the original -------------

_SPACES = "\t\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
# Invisible characters between digits (pasted along, or put there to dodge a filter) are a gap.
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63"


class _Fold(dict[int, str]):
    """A ``str.translate`` table filled in per code point on first sight (the CJK range is
    too large to build up front). Every value is exactly one character."""

    def __missing__(self, cp: int) -> str:
        ch = chr(cp)
        if 0xFF01 <= cp <= 0xFF5E:  # full-width ASCII: digits, letters, ＠ ． － ＋ …
            out = chr(cp - 0xFEE0)
        elif ch in _SPACES or ch in _INVISIBLE:
            out = " "
        elif ch in _DASHES:
            out = "-"
        elif cp == 0xFE6B:  # ﹫ small commercial at
            out = "@"
        elif cp > 0x7F and ch.isdecimal():  # other scripts' digits (٣, ३, 𝟑): int() reads them, so we do
            out = str(unicodedata.decimal(ch))
        else:
            out = ch
        self[cp] = out
        return out


_FOLD = _Fold()

# ---- the patterns (run on the folded copy, so ASCII classes suffice) -------------------

# Between digit groups: one or two spaces, or a dash with optional spaces around it.
_GAP = r"(?: ?- ?| {1,2})"


def _pattern(regex: str) -> re.Pattern[str]:
    """Compile ``regex`` with each ``~`` standing for a gap between digit groups."""
    return re.compile(regex.replace("~", _GAP))


# ASCII classes, not \w: in Python \w matches hanzi, and «邮箱a@b.cn» must keep «邮箱».
# 。and ｡ as dots too: «zhang@163。com» is a common way of writing a mailbox.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:[.。｡][A-Za-z0-9-]+)*[.。｡][A-Za-z]{2,}"
)
# 18-digit resident ID in any grouping (110101 19900307 1233, 1101 0119 9003 0712 33): the
# area, date and check-digit tests let about one random number in 300,000 through.
_ID18 = _pattern(r"(?<![0-9])[1-9](?:~?[0-9]){16}~?[0-9Xx](?![0-9Xx])")
# 15-digit first-generation ID (before 1999): area, YYMMDD, sequence. No check digit, so
# only solid or as 6-6-3: a looser grouping would catch columns of figures.
_ID15 = _pattern(r"(?<![0-9])[1-9][0-9]{5}~?[0-9]{6}~?[0-9]{3}(?![0-9])")
# Bank cards: 16-19 digits, written solid, in groups of four, or as 6 + the rest.
_BANK = _pattern(r"(?<![0-9])(?:[0-9]{16,19}|[0-9]{4}(?:~[0-9]{4}){3}(?:~[0-9]{1,3})?|[0-9]{6}~[0-9]{10,13})(?![0-9])")
# Mainland mobile: optional +86/0086/86, then 1[3-9] and nine digits, in the usual 3-4-4
# groups or solid.
_MOBILE = _pattern(r"(?<![0-9+])(?:(?:\+|00)?86~?)?1[3-9][0-9](?:~?[0-9]{4}){2}(?![0-9])")

# GB/T 2260 province codes (71 Taiwan, 81/82 Hong Kong/Macao, 83 residence permits of
# Taiwan residents); 9 leads the foreigners' permanent residence ID of 2023.
_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82 83".split()
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# ISO/IEC 7812 major industry identifiers of bank cards: 3 (JCB), 4 (Visa), 5 (Mastercard),
# 6 (UnionPay 62, older domestic 60), 9 (domestic). A row of years («2017 2018 2019 2020»
# passes Luhn) starts with 1 or 2.
_CARD_LEADS = frozenset("34569")
# What stands in for a span already taken: no digit, letter or mailbox character, so the
# guards of the later kinds treat it as they would the placeholder.
_MASK = "〓"


def _area(d: str) -> bool:
    return d[:2] in _PROVINCES or d[0] == "9"


def _born(year: int, month: int, day: int) -> bool:
    try:
        born = date(year, month, day)
    except ValueError:
        return False
    return date(1850, 1, 1) <= born <= date.today()


def _valid_id18(d: str) -> bool:
    if len(d) != 18 or not _area(d) or not _born(int(d[6:10]), int(d[10:12]), int(d[12:14])):
        return False
    return _ID_CHECK[sum(int(c) * w for c, w in zip(d[:17], _ID_WEIGHTS)) % 11] == d[17]


def _valid_id15(d: str) -> bool:
    return len(d) == 15 and _area(d) and _born(1900 + int(d[6:8]), int(d[8:10]), int(d[10:12]))


def _valid_card(d: str) -> bool:
    """The Luhn check every bank card number passes (and 9 in 10 random numbers fail)."""
    if not 16 <= len(d) <= 19 or d[0] not in _CARD_LEADS:
        return False
    total = 0
    for i, ch in enumerate(reversed(d)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _any(_: str) -> bool:
    return True


# In order: an e-mail first (13812345678@qq.com is a mailbox, not a phone number), then the
# long numbers before the mobile numbers their digits could contain.
_KINDS: tuple[tuple[re.Pattern[str], Callable[[str], bool], str], ...] = (
    (_EMAIL, _any, EMAIL),
    (_ID18, _valid_id18, ID_CARD),
    (_ID15, _valid_id15, ID_CARD),
    (_BANK, _valid_card, BANK_CARD),
    (_MOBILE, _any, MOBILE),
)
_NOT_DIGIT = re.compile(r"[^0-9X]")


def redact(text: str) -> str:
    """``text`` with ID numbers, mobile numbers, bank card numbers and e-mails replaced.

    The placeholders say what was there (〔身份证号〕〔手机号〕〔银行卡号〕〔邮箱〕), so a
    reviewer still understands the sentence; every other character is kept as it was.
    """
    if not text:
        return text
    view = text.translate(_FOLD)
    spans: list[tuple[int, int, str]] = []
    for pattern, valid, label in _KINDS:
        pos = 0
        while m := pattern.search(view, pos):
            if valid(_NOT_DIGIT.sub("", m.group().upper())):
                spans.append((m.start(), m.end(), label))
                view = view[: m.start()] + _MASK * (m.end() - m.start()) + view[m.end() :]
                pos = m.end()
            else:
                # A failed check may hide a valid number starting at a later group.
                pos = m.start() + 1
    if not spans:
        return text
    out: list[str] = []
    last = 0
    for start, end, label in sorted(spans):
        out += [text[last:start], label]
        last = end
    out.append(text[last:])
    return "".join(out)


def redact_values(value: Any) -> Any:
    """``value`` with every string inside it redacted — dict keys too (JSON-like values:
    citations, result rows)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list | tuple):
        return [redact_values(v) for v in value]
    if isinstance(value, dict):
        return {redact(k) if isinstance(k, str) else k: redact_values(v) for k, v in value.items()}
    return value


# ---- logging ----------------------------------------------------------------------------

_TRACEBACKS = logging.Formatter()
_DONE = "policy_qa_redacted"  # set on a record once redacted: the factory and the filters both see it


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """``record`` with its message, traceback and stack redacted, in place."""
    if record.__dict__.get(_DONE):
        return record
    record.__dict__[_DONE] = True
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a broken format string; logging reports it with msg and args
        record.msg, record.args = redact(str(record.msg)), _redact_args(record.args)
    else:
        if (clean := redact(message)) != message:
            _redact_message(record, clean)
    if isinstance(record.exc_info, tuple) and not record.exc_text:
        text = _TRACEBACKS.formatException(record.exc_info)
        if (clean := redact(text)) != text:
            record.exc_text = clean  # formatters print exc_text when it is set
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


def _redact_message(record: logging.LogRecord, clean: str) -> None:
    # Keep the arguments' shape when redacting them one by one is enough: some formatters
    # read record.args (uvicorn's access log unpacks client, method, path, version, status).
    msg = redact(record.msg) if isinstance(record.msg, str) else record.msg
    args = _redact_args(record.args)
    try:
        text = str(msg) % args if args else str(msg)
    except Exception:  # noqa: BLE001 - a replaced argument no longer fits its %d
        text = None
    if text is not None and redact(text) == text:
        record.msg, record.args = msg, args
    else:  # the number spans format string and arguments, or sits in a number argument
        record.msg, record.args = clean, None


def _redact_args(args: Any) -> Any:
    if isinstance(args, tuple):
        return tuple(_redact_arg(a) for a in args)
    if isinstance(args, Mapping):
        return {k: _redact_arg(v) for k, v in args.items()}
    return args


def _redact_arg(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value  # %d needs a number; a personal one is caught by the whole-message check
    try:
        text = value if isinstance(value, str) else str(value)
    except Exception:  # noqa: BLE001 - formatting would fail the same way; logging reports it
        return value
    clean = redact(text)
    return value if clean == text else clean


class RedactingFilter(logging.Filter):
    """A handler filter: each record is redacted before the handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


class _RedactingFactory:
    """The log record factory, wrapped: every record any logger creates is redacted at once."""

    def __init__(self, inner: Callable[..., logging.LogRecord]) -> None:
        self.inner = inner

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(self.inner(*args, **kwargs))


def _print_exception(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """``sys.excepthook``: the usual traceback, redacted (``--debug`` re-raises errors whose
    message may quote what the user typed)."""
    stream = sys.stderr or sys.__stderr__
    if stream is not None:
        stream.write(redact("".join(traceback.format_exception(exc_type, exc, tb))))
        stream.flush()


def _print_thread_exception(args: threading.ExceptHookArgs) -> None:
    """``threading.excepthook``: as the default one, redacted."""
    if args.exc_type is SystemExit:
        return
    stream = sys.stderr or sys.__stderr__
    if stream is not None:
        name = args.thread.name if args.thread is not None else threading.get_ident()
        lines = traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback)
        stream.write(redact(f"Exception in thread {name}:\n" + "".join(lines)))
        stream.flush()


_install_lock = threading.Lock()


def install_log_redaction() -> None:
    """Redact every log record from now on, whoever logs it and whichever handler prints it.

    Call it where logging is configured (the CLI, the server); calling it again is harmless.
    Three nets, as each misses what another catches:

    - the record factory: every record a logger creates is redacted at birth, so handlers
      configured later (uvicorn's, inside ``uvicorn.run``) need nothing of their own;
    - a `RedactingFilter` on every handler present now: records built without the factory
      (``logging.makeLogRecord``, records from another process) are redacted too;
    - the hooks printing uncaught exceptions, while they are Python's defaults (a hook a
      test runner or host installed is theirs to keep).
    """
    with _install_lock:
        factory = logging.getLogRecordFactory()
        if not isinstance(factory, _RedactingFactory):
            logging.setLogRecordFactory(_RedactingFactory(factory))
        for handler in _handlers():
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
        if sys.excepthook is sys.__excepthook__:
            sys.excepthook = _print_exception
        if threading.excepthook is threading.__excepthook__:
            threading.excepthook = _print_thread_exception


def _handlers() -> list[logging.Handler]:
    """The handlers of the root logger, of every named logger, and the last resort."""
    loggers = [logging.getLogger(), *(x for x in list(logging.Logger.manager.loggerDict.values())
                                      if isinstance(x, logging.Logger))]
    found = {id(h): h for lg in loggers for h in lg.handlers}
    if logging.lastResort is not None:
        found[id(logging.lastResort)] = logging.lastResort
    return list(found.values())


__all__ = [
    "redact", "redact_values", "redact_record", "install_log_redaction", "RedactingFilter",
    "ID_CARD", "MOBILE", "BANK_CARD", "EMAIL",
]
