"""Validation of the two identifiers a credit subject can carry.

A credit subject is either a legal person / other organisation, identified by
its 统一社会信用代码 (unified social credit code, "USCC"), or a natural person,
identified by the 居民身份证号码 (citizen identity number).  Both are 18
characters long; everything here is pure Python so that an import of a million
subjects can run through it quickly (all tables are built at import time, no
regular expressions, a valid code costs two or three C-level ``sum(map(...))``
passes).

统一社会信用代码 — GB 32100-2015《法人和其他组织统一社会信用代码编码规则》
---------------------------------------------------------------------------
18 characters from the 31-character alphabet ``0-9 A-Z`` without I, O, Z, S
and V (code values 0–30 in the order ``0123456789ABCDEFGHJKLMNPQRTUWXY``):

====== ===================================================================
pos.   meaning
====== ===================================================================
1      登记管理部门码 registration authority (table below)
2      机构类别码 organisation category, defined per registration authority
3–8    登记管理机关行政区划码: administrative division code of the
       registering authority (GB/T 2260, six digits; first digit 1–8)
9–17   主体标识码 = the 9-character 组织机构代码 of GB 11714: eight body
       characters and a check character (see below)
18     校验码: weights W_i = 3^(i-1) mod 31 for i = 1..17
       (1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28),
       C18 = 31 − (Σ value_i · W_i mod 31), with 31 written as 0, C18 being
       a code value that is mapped back through the alphabet.
====== ===================================================================

Registration authority and category table (GB 32100-2015 表1, with the codes
A and N that the standard's administering bodies added later for the CMC
reform office and for rural collective economic organisations):

==== ======================= ==============================================
1    机构编制                1 机关  2 事业单位  3 中央编办直接管理机构编制的
                             群众团体  9 其他
2    外交                    1 外国常驻新闻机构  9 其他
3    司法行政                1 律师执业机构  2 公证处  3 基层法律服务所
                             4 司法鉴定机构  5 仲裁委员会  9 其他
4    文化                    1 外国在华文化中心  9 其他
5    民政                    1 社会团体  2 民办非企业单位  3 基金会  9 其他
6    旅游                    1 外国旅游部门常驻代表机构  2 港澳台地区旅游
                             部门常驻内地（大陆）代表机构  9 其他
7    宗教                    1 宗教活动场所  2 宗教院校  9 其他
8    工会                    1 基层工会  9 其他
9    工商                    1 企业  2 个体工商户  3 农民专业合作社
A    中央军委改革和编制办公室 1 军队事业单位  9 其他
N    农业                    1 组级集体经济组织  2 村级集体经济组织
                             3 乡镇级集体经济组织  9 其他
Y    其他                    1 (no further categories)
==== ======================= ==============================================

组织机构代码 — GB 11714-1997《全国组织机构代码编制规则》
------------------------------------------------------------
Eight body characters from ``0-9 A-Z`` (digits are worth their value,
letters A=10 … Z=35) followed by a check character:
weights 3 7 9 10 5 8 4 2, C9 = 11 − (Σ value_i · W_i mod 11), 10 → ``X``,
11 → ``0``.  Inside a USCC it sits at positions 9–17 (its check character at
position 17) and is additionally restricted to the USCC alphabet.

居民身份证号码 — GB 11643-1999《公民身份号码》
-----------------------------------------------
17 digits and a check character (``0-9`` or ``X``):

====== ===================================================================
1–6    地址码: administrative division code (GB/T 2260) of the place of
       household registration; first digit 1–8
7–14   出生日期码 YYYYMMDD (GB/T 7408): a real calendar date, not in the
       future and — a plausibility rule of this module — not before
       1900-01-01
15–17  顺序码 (odd for men, even for women)
18     校验码, ISO 7064:1983 MOD 11-2: weights W_i = 2^(18-i) mod 11
       (7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2), check = "10X98765432"[Σ mod 11]
====== ===================================================================

Input is normalised first (:func:`normalize`): all whitespace — including the
full-width space U+3000 — is removed, full-width letters and digits are folded
to ASCII (NFKC), and letters are upper-cased, so ``11010519491231002x`` is
accepted and returned as ``11010519491231002X``.

Every failure raises :class:`InvalidCode`, a :class:`ValueError` whose
``str()`` is a Chinese message naming the rule that failed (and, for check
characters, the expected character); ``.english`` carries the same message in
English and ``.rule`` a short identifier of the rule.
"""
from __future__ import annotations

import datetime as _dt
import random as _random
import time as _time
import unicodedata as _unicodedata

from plugin import clock

__all__ = [
    "ORGANISATION",
    "PERSON",
    "REGISTRATION_AUTHORITIES",
    "InvalidCode",
    "normalize",
    "validate_credit_code",
    "validate_id_number",
    "subject_kind",
    "validate_subject_code",
    "credit_code_check_char",
    "organisation_code_check_char",
    "id_check_char",
    "make_credit_code",
    "make_id_number",
]

ORGANISATION = "organisation"
PERSON = "person"

# --------------------------------------------------------------------------
# Rule identifiers (InvalidCode.rule)
# --------------------------------------------------------------------------
RULE_USCC_LENGTH = "GB 32100-2015 长度"
RULE_USCC_CHARSET = "GB 32100-2015 字符集"
RULE_USCC_AUTHORITY = "GB 32100-2015 第1位登记管理部门码"
RULE_USCC_CATEGORY = "GB 32100-2015 第2位机构类别码"
RULE_USCC_DIVISION = "GB 32100-2015 第3-8位行政区划码"
RULE_ORG_CHECK = "GB 11714 组织机构代码校验码"
RULE_USCC_CHECK = "GB 32100-2015 第18位校验码"

RULE_ID_LENGTH = "GB 11643-1999 长度"
RULE_ID_CHARSET = "GB 11643-1999 字符"
RULE_ID_DIVISION = "GB 11643-1999 地址码"
RULE_ID_BIRTH = "GB 11643-1999 出生日期"
RULE_ID_CHECK = "GB 11643-1999 校验码"

RULE_SUBJECT_LENGTH = "GB 32100-2015 / GB 11643-1999 长度"

_USCC_STD = "GB 32100-2015"
_ORG_STD = "GB 11714"
_ID_STD = "GB 11643-1999"

# --------------------------------------------------------------------------
# The registration authority / category table of GB 32100-2015
# --------------------------------------------------------------------------
#: code → (Chinese name, English name, {category code: (Chinese, English)})
REGISTRATION_AUTHORITIES: dict[str, tuple[str, str, dict[str, tuple[str, str]]]] = {
    "1": ("机构编制", "public-sector establishment administration", {
        "1": ("机关", "government organ"),
        "2": ("事业单位", "public institution"),
        "3": ("中央编办直接管理机构编制的群众团体",
              "mass organisation whose establishment is managed by the central establishment office"),
        "9": ("其他", "other"),
    }),
    "2": ("外交", "foreign affairs", {
        "1": ("外国常驻新闻机构", "resident office of a foreign news organisation"),
        "9": ("其他", "other"),
    }),
    "3": ("司法行政", "judicial administration", {
        "1": ("律师执业机构", "law firm"),
        "2": ("公证处", "notary office"),
        "3": ("基层法律服务所", "grassroots legal service office"),
        "4": ("司法鉴定机构", "forensic appraisal institution"),
        "5": ("仲裁委员会", "arbitration commission"),
        "9": ("其他", "other"),
    }),
    "4": ("文化", "culture", {
        "1": ("外国在华文化中心", "foreign cultural centre in China"),
        "9": ("其他", "other"),
    }),
    "5": ("民政", "civil affairs", {
        "1": ("社会团体", "social organisation"),
        "2": ("民办非企业单位", "private non-enterprise unit"),
        "3": ("基金会", "foundation"),
        "9": ("其他", "other"),
    }),
    "6": ("旅游", "tourism", {
        "1": ("外国旅游部门常驻代表机构", "resident office of a foreign tourism authority"),
        "2": ("港澳台地区旅游部门常驻内地（大陆）代表机构",
              "resident mainland office of a Hong Kong, Macao or Taiwan tourism authority"),
        "9": ("其他", "other"),
    }),
    "7": ("宗教", "religious affairs", {
        "1": ("宗教活动场所", "place of religious activity"),
        "2": ("宗教院校", "religious college"),
        "9": ("其他", "other"),
    }),
    "8": ("工会", "trade unions", {
        "1": ("基层工会", "grassroots trade union"),
        "9": ("其他", "other"),
    }),
    "9": ("工商", "industry and commerce (market regulation)", {
        "1": ("企业", "enterprise"),
        "2": ("个体工商户", "individual business"),
        "3": ("农民专业合作社", "farmers' specialised cooperative"),
    }),
    "A": ("中央军委改革和编制办公室", "CMC Reform and Organisation Office", {
        "1": ("军队事业单位", "military public institution"),
        "9": ("其他", "other"),
    }),
    "N": ("农业", "agriculture", {
        "1": ("组级集体经济组织", "group-level collective economic organisation"),
        "2": ("村级集体经济组织", "village-level collective economic organisation"),
        "3": ("乡镇级集体经济组织", "township-level collective economic organisation"),
        "9": ("其他", "other"),
    }),
    "Y": ("其他", "other", {
        "1": ("其他", "other"),
    }),
}

_CATEGORIES: dict[str, frozenset[str]] = {
    a: frozenset(cats) for a, (_zh, _en, cats) in REGISTRATION_AUTHORITIES.items()
}

# --------------------------------------------------------------------------
# Precomputed lookup tables
# --------------------------------------------------------------------------
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(_USCC_ALPHABET)}
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
assert _USCC_WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# One dict per position: character → value · weight.  A KeyError means an
# illegal character.
_USCC_TABLES = tuple({c: v * w for c, v in _USCC_VALUE.items()} for w in _USCC_WEIGHTS)
# Σ mod 31 → check character (31 − r, with 31 → 0).
_USCC_CHECK = tuple(_USCC_ALPHABET[(31 - r) % 31] for r in range(31))

_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORG_VALUE = {c: i for i, c in enumerate(_ORG_ALPHABET)}
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_TABLES = tuple({c: v * w for c, v in _ORG_VALUE.items()} for w in _ORG_WEIGHTS)
# Σ mod 11 → check character (11 − r; 10 → X, 11 → 0).
_ORG_CHECK = tuple({10: "X", 11: "0"}.get(11 - r, str(11 - r)) for r in range(11))

_ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
assert _ID_WEIGHTS == (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_TABLES = tuple({str(d): d * w for d in range(10)} for w in _ID_WEIGHTS)
_ID_CHECK = "10X98765432"
_ID_LAST = frozenset("0123456789X")
_DIVISION_FIRST = frozenset("12345678")

# Every MMDD that exists in some year (0229 only in leap years).
_MONTH_LENGTHS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_MMDD = frozenset(f"{m:02d}{d:02d}" for m in range(1, 13) for d in range(1, _MONTH_LENGTHS[m - 1] + 1))
_EARLIEST_BIRTH = "19000101"

_getitem = dict.__getitem__


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


# Today's date as YYYYMMDD, refreshed at local midnight; date.today() on every
# call would cost more than the rest of an ID-number check.
_today_str = ""
_today_expires = 0.0


def _today_yyyymmdd() -> str:
    global _today_str, _today_expires
    if _time.time() >= _today_expires:
        now = clock.now()
        tomorrow = _dt.datetime.combine(now.date() + _dt.timedelta(days=1), _dt.time(), now.tzinfo)
        _today_str = now.strftime("%Y%m%d")
        _today_expires = tomorrow.timestamp()
    return _today_str


def _yyyymmdd(d: _dt.date) -> str:
    return f"{d.year:04d}{d.month:02d}{d.day:02d}"


def _fmt_date(s: str) -> str:
    return f"{s[0:4]}-{s[4:6]}-{s[6:8]}"


# --------------------------------------------------------------------------
# The exception
# --------------------------------------------------------------------------
class InvalidCode(ValueError):
    """A code that breaks a rule of its standard.

    Attributes:
        code: the input as given.
        normalized: the input after :func:`normalize` (what the message shows).
        rule: short identifier of the failed rule, e.g. ``"GB 32100-2015 第18位校验码"``.
        message: Chinese message (also ``str(e)``).
        english: the same message in English.
        kind: ``"organisation"``, ``"person"`` or ``None`` (kind undecidable).
        expected: for check-character failures, the character that was expected.
        position: 1-based position of the offending character, if one is to blame.
    """

    def __init__(self, code, rule: str, message: str, english: str, *, normalized: str | None = None,
                 kind: str | None = None, expected: str | None = None, position: int | None = None):
        super().__init__(message)
        self.code = code
        self.rule = rule
        self.message = message
        self.english = english
        self.normalized = code if normalized is None else normalized
        self.kind = kind
        self.expected = expected
        self.position = position

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):
        return (_rebuild_invalid_code, (self.code, self.rule, self.message, self.english,
                                        self.normalized, self.kind, self.expected, self.position))


def _rebuild_invalid_code(code, rule, message, english, normalized, kind, expected, position):
    return InvalidCode(code, rule, message, english, normalized=normalized, kind=kind,
                       expected=expected, position=position)


def _shown(s: str) -> str:
    return s if len(s) <= 40 else s[:37] + "…"


def _char_name(c: str) -> str:
    if c.isprintable() and not c.isspace():
        return c
    return f"U+{ord(c):04X}"


# --------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------
def normalize(code: str) -> str:
    """Remove all whitespace (incl. U+3000), fold full-width forms, upper-case.

    ``None`` (a missing CSV cell) normalises to ``""`` and an ``int`` (a JSON
    number) to its digits, so both end up as ordinary length/character
    errors; any other non-string is a :class:`TypeError`.
    """
    if not isinstance(code, str):
        if code is None:
            return ""
        if isinstance(code, int) and not isinstance(code, bool):
            return str(code)
        raise TypeError(f"code must be str, not {type(code).__name__}")
    if not code.isascii():
        code = _unicodedata.normalize("NFKC", code)
    if not code.isalnum():
        code = "".join(code.split())
    return code.upper()


# --------------------------------------------------------------------------
# Check characters
# --------------------------------------------------------------------------
def credit_code_check_char(first17: str) -> str:
    """The GB 32100-2015 check character (position 18) for 17 USCC characters."""
    first17 = first17.upper()
    if len(first17) != 17:
        raise ValueError("need exactly 17 characters")
    try:
        return _USCC_CHECK[sum(map(_getitem, _USCC_TABLES, first17)) % 31]
    except KeyError as exc:
        raise ValueError(f"{exc.args[0]!r} is not in the USCC alphabet") from None


def organisation_code_check_char(body8: str) -> str:
    """The GB 11714 check character (position 9) for an 8-character organisation code body."""
    body8 = body8.upper()
    if len(body8) != 8:
        raise ValueError("need exactly 8 characters")
    try:
        return _ORG_CHECK[sum(map(_getitem, _ORG_TABLES, body8)) % 11]
    except KeyError as exc:
        raise ValueError(f"{exc.args[0]!r} is not a digit or letter A-Z") from None


def id_check_char(first17: str) -> str:
    """The GB 11643-1999 (ISO 7064 MOD 11-2) check character for 17 digits."""
    if len(first17) != 17:
        raise ValueError("need exactly 17 digits")
    try:
        return _ID_CHECK[sum(map(_getitem, _ID_TABLES, first17)) % 11]
    except KeyError as exc:
        raise ValueError(f"{exc.args[0]!r} is not a digit") from None


# --------------------------------------------------------------------------
# 统一社会信用代码
# --------------------------------------------------------------------------
def _uscc_error(code, s, rule, zh, en, **kw) -> InvalidCode:
    shown = _shown(s)
    return InvalidCode(
        code, rule,
        f"统一社会信用代码 {shown} {zh}（{_USCC_STD}）",
        f"Unified social credit code {shown}: {en} ({_USCC_STD})",
        normalized=s, kind=ORGANISATION, **kw)


def _uscc_length_error(code, s) -> InvalidCode:
    return _uscc_error(code, s, RULE_USCC_LENGTH,
                       f"长度应为18位，实为{len(s)}位",
                       f"must be 18 characters long, got {len(s)}")


def _uscc_charset_error(code, s) -> InvalidCode:
    for i, c in enumerate(s):
        if c not in _USCC_VALUE:
            break
    else:  # pragma: no cover - only called when some character is illegal
        raise AssertionError("no illegal character")
    shown_c = _char_name(c)
    return _uscc_error(
        code, s, RULE_USCC_CHARSET,
        f"第{i + 1}位字符“{shown_c}”不合法：只能使用数字0-9和除I、O、Z、S、V以外的大写字母",
        f"character {i + 1} '{shown_c}' is not allowed: only digits 0-9 and capital letters "
        f"other than I, O, Z, S and V may be used",
        position=i + 1)


def validate_credit_code(code: str) -> str:
    """Validate a 统一社会信用代码 (GB 32100-2015); return it normalised.

    Raises :class:`InvalidCode` naming the first rule that fails, in this
    order: length, character set, registration authority (pos. 1), category
    (pos. 2), administrative division (pos. 3–8), embedded organisation code
    check character (GB 11714, pos. 17), USCC check character (pos. 18).
    """
    s = normalize(code)
    if len(s) != 18:
        raise _uscc_length_error(code, s)
    try:
        total = sum(map(_getitem, _USCC_TABLES, s))  # positions 1-17
        _USCC_VALUE[s[17]]
    except KeyError:
        raise _uscc_charset_error(code, s) from None

    authority = s[0]
    cats = _CATEGORIES.get(authority)
    if cats is None:
        raise _uscc_error(
            code, s, RULE_USCC_AUTHORITY,
            f"第1位登记管理部门码“{authority}”不存在：应为 1-9、A、N 或 Y",
            f"registration authority code (character 1) '{authority}' does not exist: "
            f"must be 1-9, A, N or Y",
            position=1)
    category = s[1]
    if category not in cats:
        zh_name, en_name, table = REGISTRATION_AUTHORITIES[authority]
        allowed = "、".join(sorted(table))
        allowed_en = ", ".join(sorted(table))
        raise _uscc_error(
            code, s, RULE_USCC_CATEGORY,
            f"第2位机构类别码“{category}”不属于登记管理部门 {authority}（{zh_name}）：应为 {allowed} 之一",
            f"organisation category code (character 2) '{category}' is not defined for registration "
            f"authority {authority} ({en_name}): must be one of {allowed_en}",
            position=2)
    division = s[2:8]
    if not division.isdigit() or division[0] not in _DIVISION_FIRST:
        raise _uscc_error(
            code, s, RULE_USCC_DIVISION,
            f"第3-8位登记管理机关行政区划码“{division}”不合法：应为6位数字的行政区划代码（GB/T 2260），首位为1-8",
            f"administrative division code (characters 3-8) '{division}' is invalid: must be a "
            f"6-digit GB/T 2260 division code starting with 1-8",
            position=3)
    org_expected = _ORG_CHECK[sum(map(_getitem, _ORG_TABLES, s[8:16])) % 11]
    if s[16] != org_expected:
        org = s[8:17]
        shown = _shown(s)
        raise InvalidCode(
            code, RULE_ORG_CHECK,
            f"统一社会信用代码 {shown} 第9-17位组织机构代码 {org} 的校验码（第17位）错误：应为 {org_expected}（{_ORG_STD}）",
            f"Unified social credit code {shown}: the check character of the embedded organisation "
            f"code {org} (character 17) is wrong, expected {org_expected} ({_ORG_STD})",
            normalized=s, kind=ORGANISATION, expected=org_expected, position=17)
    expected = _USCC_CHECK[total % 31]
    if s[17] != expected:
        raise _uscc_error(
            code, s, RULE_USCC_CHECK,
            f"第18位校验码错误：应为 {expected}",
            f"check character (character 18) is wrong, expected {expected}",
            expected=expected, position=18)
    return s


# --------------------------------------------------------------------------
# 居民身份证号码
# --------------------------------------------------------------------------
def _id_error(code, s, rule, zh, en, **kw) -> InvalidCode:
    shown = _shown(s)
    return InvalidCode(
        code, rule,
        f"居民身份证号码 {shown} {zh}（{_ID_STD}）",
        f"Resident identity card number {shown}: {en} ({_ID_STD})",
        normalized=s, kind=PERSON, **kw)


def _id_length_error(code, s) -> InvalidCode:
    zh = f"长度应为18位，实为{len(s)}位"
    en = f"must be 18 characters long, got {len(s)}"
    if len(s) == 15 and s.isdigit():
        zh += "（15位旧号码须按标准升位为18位）"
        en += " (15-digit old numbers must first be converted to 18 digits)"
    return _id_error(code, s, RULE_ID_LENGTH, zh, en)


def _id_charset_error(code, s) -> InvalidCode:
    for i, c in enumerate(s[:17]):
        if c not in "0123456789":
            shown_c = _char_name(c)
            return _id_error(
                code, s, RULE_ID_CHARSET,
                f"第{i + 1}位字符“{shown_c}”不合法：前17位只能是数字",
                f"character {i + 1} '{shown_c}' is not allowed: the first 17 characters must be digits",
                position=i + 1)
    shown_c = _char_name(s[17])
    return _id_error(
        code, s, RULE_ID_CHARSET,
        f"第18位字符“{shown_c}”不合法：校验码只能是数字或X",
        f"character 18 '{shown_c}' is not allowed: the check character must be a digit or X",
        position=18)


def validate_id_number(code: str, today: _dt.date | None = None) -> str:
    """Validate a 居民身份证号码 (GB 11643-1999); return it normalised (x → X).

    ``today`` (default: the local date) bounds the birth date.  Raises
    :class:`InvalidCode` naming the first rule that fails, in this order:
    length, characters, address code (pos. 1–6), birth date (pos. 7–14:
    a real date, not before 1900-01-01, not after today), check character.
    """
    s = normalize(code)
    if len(s) != 18:
        raise _id_length_error(code, s)
    try:
        total = sum(map(_getitem, _ID_TABLES, s))  # positions 1-17, digits only
    except KeyError:
        raise _id_charset_error(code, s) from None
    last = s[17]
    if last not in _ID_LAST:
        raise _id_charset_error(code, s)

    if s[0] not in _DIVISION_FIRST:
        raise _id_error(
            code, s, RULE_ID_DIVISION,
            f"第1-6位地址码“{s[:6]}”不合法：应为行政区划代码（GB/T 2260），首位为1-8",
            f"address code (characters 1-6) '{s[:6]}' is invalid: must be a GB/T 2260 division "
            f"code starting with 1-8",
            position=1)

    birth = s[6:14]
    mmdd = birth[4:]
    if mmdd not in _MMDD or (mmdd == "0229" and not _is_leap(int(birth[:4]))):
        raise _id_error(
            code, s, RULE_ID_BIRTH,
            f"第7-14位出生日期“{birth}”不是有效日期",
            f"date of birth (characters 7-14) '{birth}' is not a valid calendar date",
            position=7)
    if birth < _EARLIEST_BIRTH:
        raise _id_error(
            code, s, RULE_ID_BIRTH,
            f"第7-14位出生日期 {_fmt_date(birth)} 早于1900-01-01",
            f"date of birth (characters 7-14) {_fmt_date(birth)} is before 1900-01-01",
            position=7)
    today_s = _today_yyyymmdd() if today is None else _yyyymmdd(today)
    if birth > today_s:
        raise _id_error(
            code, s, RULE_ID_BIRTH,
            f"第7-14位出生日期 {_fmt_date(birth)} 晚于今天（{_fmt_date(today_s)}）",
            f"date of birth (characters 7-14) {_fmt_date(birth)} is in the future "
            f"(today is {_fmt_date(today_s)})",
            position=7)

    expected = _ID_CHECK[total % 11]
    if last != expected:
        raise _id_error(
            code, s, RULE_ID_CHECK,
            f"第18位校验码错误：应为 {expected}",
            f"check character (character 18) is wrong, expected {expected}",
            expected=expected, position=18)
    return s


# --------------------------------------------------------------------------
# Either kind
# --------------------------------------------------------------------------


def _looks_like_id(s: str) -> bool:
    """17 ASCII digits + [0-9X], positions 7-14 a plausible 19xx/20xx date."""
    return (len(s) == 18 and s.isascii() and s[:17].isdigit() and s[17] in _ID_LAST
            and s[6:8] in ("19", "20") and s[10:14] in _MMDD)


def subject_kind(code: str) -> str:
    """Guess whether ``code`` is a person's ID number or an organisation's USCC.

    Never raises for a ``str``.  An 18-character string of 17 digits and a
    digit or X whose positions 7–14 look like a 19xx/20xx date is a person —
    unless it is not a valid ID number but is a valid USCC (an all-digit USCC
    can look like an ID number).  Anything else of 18 characters is an
    organisation; for other lengths, a string of digits (with an optional final
    X) is taken for a person, anything else for an organisation.
    """
    s = normalize(code)
    if len(s) != 18:
        body = s[:-1] if s.endswith("X") else s
        return PERSON if body.isascii() and body.isdigit() else ORGANISATION
    if _looks_like_id(s):
        try:
            validate_id_number(s)
        except InvalidCode:
            try:
                validate_credit_code(s)
            except InvalidCode:
                return PERSON
            return ORGANISATION
        return PERSON
    return ORGANISATION


def validate_subject_code(code: str, kind: str | None = None,
                          today: _dt.date | None = None) -> tuple[str, str]:
    """Validate a subject code; return ``(normalised_code, kind)``.

    ``kind`` is ``"organisation"`` (统一社会信用代码) or ``"person"``
    (居民身份证号码); ``None`` detects it (see :func:`subject_kind`), raising
    the error of the detected kind.  ``today`` is passed on to
    :func:`validate_id_number`.
    """
    if kind == ORGANISATION:
        return validate_credit_code(code), ORGANISATION
    if kind == PERSON:
        return validate_id_number(code, today), PERSON
    if kind is not None:
        raise ValueError(f"kind must be {ORGANISATION!r}, {PERSON!r} or None, not {kind!r}")

    s = normalize(code)
    if len(s) != 18:
        shown = _shown(s)
        raise InvalidCode(
            code, RULE_SUBJECT_LENGTH,
            f"证件号码 {shown} 长度为{len(s)}位：统一社会信用代码（GB 32100-2015）和"
            f"居民身份证号码（GB 11643-1999）均为18位",
            f"Identifier {shown} is {len(s)} characters long: both a unified social credit code "
            f"(GB 32100-2015) and a resident identity card number (GB 11643-1999) are 18 characters",
            normalized=s)
    if _looks_like_id(s):
        try:
            return validate_id_number(s, today), PERSON
        except InvalidCode as exc:
            try:
                return validate_credit_code(s), ORGANISATION
            except InvalidCode:
                pass
            exc.code = code
            raise
    try:
        return validate_credit_code(s), ORGANISATION
    except InvalidCode as exc:
        exc.code = code
        raise


# --------------------------------------------------------------------------
# Generators (seeds, benchmarks)
# --------------------------------------------------------------------------
_BODY_ALPHABET = _USCC_ALPHABET  # organisation code bodies that also fit a USCC
_BIRTH_FIRST = _dt.date(1940, 1, 1).toordinal()
_BIRTH_LAST = _dt.date(2005, 12, 31).toordinal()


def _check_division(division: str) -> None:
    if not (isinstance(division, str) and len(division) == 6 and division.isascii()
            and division.isdigit() and division[0] in _DIVISION_FIRST):
        raise ValueError(f"division must be a 6-digit GB/T 2260 code starting with 1-8, not {division!r}")


def make_credit_code(rng: _random.Random, division: str = "460100", authority: str = "9",
                     category: str = "1") -> str:
    """A random valid 统一社会信用代码; deterministic for a given ``rng`` state."""
    _check_division(division)
    cats = _CATEGORIES.get(authority)
    if cats is None:
        raise ValueError(f"unknown registration authority code {authority!r}")
    if category not in cats:
        raise ValueError(f"category {category!r} is not defined for authority {authority!r}")
    body = "".join([rng.choice(_BODY_ALPHABET) for _ in range(8)])
    first17 = authority + category + division + body + organisation_code_check_char(body)
    return first17 + credit_code_check_char(first17)


def make_id_number(rng: _random.Random, division: str = "460100",
                   birth: _dt.date | None = None) -> str:
    """A random valid 居民身份证号码; deterministic for a given ``rng`` state.

    Without ``birth`` the date of birth is drawn from 1940-01-01..2005-12-31.
    """
    _check_division(division)
    if birth is None:
        birth = _dt.date.fromordinal(rng.randint(_BIRTH_FIRST, _BIRTH_LAST))
    elif not (_dt.date(1900, 1, 1) <= birth <= clock.today()):
        raise ValueError(f"birth must lie between 1900-01-01 and today, not {birth}")
    first17 = f"{division}{_yyyymmdd(birth)}{rng.randrange(1000):03d}"
    return first17 + id_check_char(first17)
