"""Tests for plugin.credit.codes: USCC (GB 32100-2015), organisation code
(GB 11714) and resident ID number (GB 11643-1999) validation."""
from __future__ import annotations

import datetime as dt
import pickle
import random

import pytest

from plugin.credit.codes import (
    ORGANISATION,
    PERSON,
    REGISTRATION_AUTHORITIES,
    InvalidCode,
    credit_code_check_char,
    id_check_char,
    make_credit_code,
    make_id_number,
    normalize,
    organisation_code_check_char,
    subject_kind,
    validate_credit_code,
    validate_id_number,
    validate_subject_code,
)

TODAY = dt.date(2025, 6, 1)

# ---------------------------------------------------------------------------
# Independent reference implementation, written straight from the standards'
# formulas (no shared tables), used to cross-check the optimised module.
# ---------------------------------------------------------------------------
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 0-9, A-Z without I O Z S V


def ref_uscc_check(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * (3 ** i % 31) for i, c in enumerate(first17))
    value = 31 - total % 31
    return USCC_ALPHABET[0 if value == 31 else value]


def ref_org_check(body8: str) -> str:
    weights = [3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(c, 36) * w for c, w in zip(body8, weights))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def ref_id_check(first17: str) -> str:
    total = sum(int(c) * (2 ** (17 - i) % 11) for i, c in enumerate(first17))
    return "10X98765432"[total % 11]


def rule_of(excinfo) -> str:
    return excinfo.value.rule


# ---------------------------------------------------------------------------
# Published valid codes
# ---------------------------------------------------------------------------
class TestPublishedExamples:
    def test_gb32100_example(self):
        # The worked example of GB 32100-2015: 91350100M000100Y43.
        # Embedded organisation code M000100Y4 (GB 11714), values M=22, Y=34:
        #   22*3 + 0*7 + 0*9 + 0*10 + 1*5 + 0*8 + 0*4 + 34*2 = 66+5+68 = 139
        #   139 mod 11 = 7, 11-7 = 4  -> check '4'  (position 17) ✓
        # USCC check, alphabet values M=21, Y=30, weights 3^i mod 31:
        #   9*1 + 1*3 + 3*9 + 5*27 + 0*19 + 1*26 + 0*16 + 0*17 + 21*20 + 0*29
        #   + 0*25 + 0*13 + 1*8 + 0*24 + 0*10 + 30*30 + 4*28
        #   = 9+3+27+135+26+420+8+900+112 = 1640
        #   1640 mod 31 = 1640-1612 = 28, 31-28 = 3 -> check '3' (position 18) ✓
        assert validate_credit_code("91350100M000100Y43") == "91350100M000100Y43"
        assert ref_uscc_check("91350100M000100Y4") == "3"
        assert ref_org_check("M000100Y") == "4"

    def test_gb32100_example_wrong_check_message(self):
        with pytest.raises(InvalidCode) as ei:
            validate_credit_code("91350100M000100Y4X")
        assert str(ei.value) == "统一社会信用代码 91350100M000100Y4X 第18位校验码错误：应为 3（GB 32100-2015）"
        assert ei.value.rule == "GB 32100-2015 第18位校验码"
        assert ei.value.expected == "3"
        assert ei.value.position == 18
        assert "expected 3" in ei.value.english
        assert "GB 32100-2015" in ei.value.english

    def test_huawei_published_code(self):
        # 914403001922038216, the code printed for Huawei Technologies Co., Ltd.
        # (Shenzhen, 440300).  Organisation code 19220382-1:
        #   1*3 + 9*7 + 2*9 + 2*10 + 0*5 + 3*8 + 8*4 + 2*2 = 3+63+18+20+24+32+4 = 164
        #   164 mod 11 = 10, 11-10 = 1 -> '1' ✓
        # USCC: 9*1 + 1*3 + 4*9 + 4*27 + 0*19 + 3*26 + 0*16 + 0*17 + 1*20 + 9*29
        #   + 2*25 + 2*13 + 0*8 + 3*24 + 8*10 + 2*30 + 1*28
        #   = 9+3+36+108+78+20+261+50+26+72+80+60+28 = 831
        #   831 mod 31 = 831-806 = 25, 31-25 = 6 -> '6' ✓
        assert validate_credit_code("914403001922038216") == "914403001922038216"

    def test_xiaomi_published_code(self):
        # 91110108551385082Q, the code printed for Xiaomi Inc. (Beijing Haidian, 110108).
        # Organisation code 55138508-2:
        #   5*3 + 5*7 + 1*9 + 3*10 + 8*5 + 5*8 + 0*4 + 8*2 = 15+35+9+30+40+40+16 = 185
        #   185 mod 11 = 9, 11-9 = 2 -> '2' ✓
        # USCC: 9*1 + 1*3 + 1*9 + 1*27 + 0*19 + 1*26 + 0*16 + 8*17 + 5*20 + 5*29
        #   + 1*25 + 3*13 + 8*8 + 5*24 + 0*10 + 8*30 + 2*28
        #   = 9+3+9+27+26+136+100+145+25+39+64+120+240+56 = 999
        #   999 mod 31 = 999-992 = 7, 31-7 = 24 = 'Q' ✓
        assert validate_credit_code("91110108551385082Q") == "91110108551385082Q"

    def test_gb11643_example(self):
        # The worked example of GB 11643-1999: 11010519491231002X
        # (Beijing Chaoyang 110105, born 1949-12-31, sequence 002).
        #   1*7 + 1*9 + 0*10 + 1*5 + 0*8 + 5*4 + 1*2 + 9*1 + 4*6 + 9*3 + 1*7
        #   + 2*9 + 3*10 + 1*5 + 0*8 + 0*4 + 2*2
        #   = 7+9+5+20+2+9+24+27+7+18+30+5+4 = 167
        #   167 mod 11 = 2 -> "10X98765432"[2] = 'X' ✓
        assert validate_id_number("11010519491231002X", today=TODAY) == "11010519491231002X"
        assert ref_id_check("11010519491231002") == "X"

    def test_gb11643_second_example_is_before_1900(self):
        # GB 11643-1999's other example, 440524188001010014, has a correct
        # check character (4*7+4*9+0*10+5*5+2*8+4*4+1*2+8*1+8*6+0*3+0*7+1*9
        # +0*10+1*5+0*8+0*4+1*2 = 195, 195 mod 11 = 8 -> '4' ✓) but its holder
        # was born in 1880, before this module's 1900-01-01 plausibility limit.
        assert id_check_char("44052418800101001") == "4"
        with pytest.raises(InvalidCode) as ei:
            validate_id_number("440524188001010014", today=TODAY)
        assert ei.value.rule == "GB 11643-1999 出生日期"
        assert "1900-01-01" in str(ei.value)
        assert "1880-01-01" in str(ei.value)


# ---------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------
class TestNormalize:
    def test_lower_case_is_upper_cased(self):
        assert normalize("91350100m000100y43") == "91350100M000100Y43"
        assert validate_credit_code("91350100m000100y43") == "91350100M000100Y43"

    def test_lower_case_x_in_id_number(self):
        assert validate_id_number("11010519491231002x", today=TODAY) == "11010519491231002X"

    def test_whitespace_including_full_width_space(self):
        assert normalize("  9135\u30000100 M000100Y43\t\n") == "91350100M000100Y43"
        assert validate_credit_code("\u300091350100M000100Y43\u3000") == "91350100M000100Y43"
        assert validate_id_number(" 110105 19491231 002X ", today=TODAY) == "11010519491231002X"

    def test_full_width_characters_are_folded(self):
        assert normalize("９１３５０１００Ｍ０００１００ｙ４３") == "91350100M000100Y43"

    def test_clean_input_is_unchanged(self):
        assert normalize("91350100M000100Y43") == "91350100M000100Y43"

    def test_missing_value_and_numbers(self):
        # A missing CSV cell (None) is an ordinary length error, not a crash.
        assert normalize(None) == ""  # type: ignore[arg-type]
        with pytest.raises(InvalidCode) as ei:
            validate_subject_code(None)  # type: ignore[arg-type]
        assert ei.value.rule == "GB 32100-2015 / GB 11643-1999 长度"
        # A JSON number keeps its digits.
        assert normalize(914403001922038216) == "914403001922038216"  # type: ignore[arg-type]

    def test_other_types_are_a_type_error(self):
        with pytest.raises(TypeError):
            normalize(b"91350100M000100Y43")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            normalize(True)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# 统一社会信用代码: one test per rule
# ---------------------------------------------------------------------------
def _with_checks(first16: str) -> str:
    """Complete 16 USCC characters with a correct org-code and USCC check."""
    first17 = first16 + ref_org_check(first16[8:16])
    return first17 + ref_uscc_check(first17)


class TestCreditCodeRules:
    def test_length(self):
        with pytest.raises(InvalidCode) as ei:
            validate_credit_code("91350100M000100Y4")
        assert ei.value.rule == "GB 32100-2015 长度"
        assert "长度应为18位，实为17位" in str(ei.value)
        assert "18 characters" in ei.value.english

    def test_empty(self):
        with pytest.raises(InvalidCode) as ei:
            validate_credit_code("")
        assert ei.value.rule == "GB 32100-2015 长度"

    @pytest.mark.parametrize("bad", ["I", "O", "Z", "S", "V", "-", "中"])
    def test_illegal_character(self, bad):
        code = "91350100M000100" + bad + "43"
        with pytest.raises(InvalidCode) as ei:
            validate_credit_code(code)
        assert ei.value.rule == "GB 32100-2015 字符集"
        assert ei.value.position == 16
        assert f"第16位字符“{bad}”不合法" in str(ei.value)
        assert "I、O、Z、S、V" in str(ei.value)

    def test_illegal_check_character(self):
        with pytest.raises(InvalidCode) as ei:
            validate_credit_code("91350100M000100Y4Z")
        assert ei.value.rule == "GB 32100-2015 字符集"
        assert ei.value.position == 18

    @pytest.mark.parametrize("authority", ["0", "B", "C", "G", "M", "X"])
    def test_registration_authority(self, authority):
        with pytest.raises(InvalidCode) as ei:
            validate_credit_code(_with_checks(authority + "1350100M000100Y"))
        assert ei.value.rule == "GB 32100-2015 第1位登记管理部门码"
        assert f"第1位登记管理部门码“{authority}”不存在" in str(ei.value)

    @pytest.mark.parametrize("authority,category", [
        ("9", "4"), ("9", "9"), ("1", "4"), ("5", "4"), ("2", "2"), ("Y", "2"), ("Y", "9"),
        ("A", "2"), ("N", "4"), ("3", "6"), ("9", "A"),
    ])
    def test_category_not_in_authority_table(self, authority, category):
        with pytest.raises(InvalidCode) as ei:
            validate_credit_code(_with_checks(authority + category + "350100M000100Y"))
        assert ei.value.rule == "GB 32100-2015 第2位机构类别码"
        msg = str(ei.value)
        assert f"第2位机构类别码“{category}”不属于登记管理部门 {authority}" in msg
        assert REGISTRATION_AUTHORITIES[authority][0] in msg

    def test_category_message_lists_allowed_codes(self):
        with pytest.raises(InvalidCode) as ei:
            validate_credit_code(_with_checks("94350100M000100Y"))
        assert "应为 1、2、3 之一" in str(ei.value)
        assert "one of 1, 2, 3" in ei.value.english

    def test_every_table_entry_is_accepted(self):
        # Table of GB 32100-2015 (with the later A and N codes).
        expected = {
            "1": "1239", "2": "19", "3": "123459", "4": "19", "5": "1239", "6": "129",
            "7": "129", "8": "19", "9": "123", "A": "19", "N": "1239", "Y": "1",
        }
        assert {a: "".join(sorted(t[2])) for a, t in REGISTRATION_AUTHORITIES.items()} == expected
        for authority, cats in expected.items():
            for category in cats:
                code = _with_checks(authority + category + "460100MA5T0001")
                assert validate_credit_code(code) == code

    @pytest.mark.parametrize("division", ["35010A", "A50100", "000000", "935010", "0N0100"])
    def test_division(self, division):
        with pytest.raises(InvalidCode) as ei:
            validate_credit_code(_with_checks("91" + division + "M000100Y"))
        assert ei.value.rule == "GB 32100-2015 第3-8位行政区划码"
        assert f"“{division}”" in str(ei.value)
        assert "GB/T 2260" in str(ei.value)

    def test_organisation_code_check(self):
        # Change the org-code check (position 17) from 4 to 5 but keep the
        # USCC check consistent, so only the GB 11714 rule fails.
        first17 = "91350100M000100Y5"
        code = first17 + ref_uscc_check(first17)
        with pytest.raises(InvalidCode) as ei:
            validate_credit_code(code)
        assert ei.value.rule == "GB 11714 组织机构代码校验码"
        assert ei.value.expected == "4"
        assert ei.value.position == 17
        assert str(ei.value) == (
            f"统一社会信用代码 {code} 第9-17位组织机构代码 M000100Y5 的校验码（第17位）错误：应为 4（GB 11714）")
        assert "expected 4" in ei.value.english

    def test_organisation_code_check_x_and_0(self):
        # Check values 10 and 11 are written X and 0.
        # 4*3 = 12, 12 mod 11 = 1, 11-1 = 10 -> 'X'
        assert organisation_code_check_char("40000000") == "X"
        # sum 0, 11-0 = 11 -> '0'
        assert organisation_code_check_char("00000000") == "0"
        # 1*2 = 2, 11-2 = 9 -> '9'
        assert organisation_code_check_char("00000001") == "9"
        # 5*2 = 10, 11-10 = 1 -> '1'
        assert organisation_code_check_char("00000005") == "1"
        # A USCC whose embedded organisation code ends in X is valid.
        code = _with_checks("91460100" + "40000000")
        assert code[16] == "X"
        assert validate_credit_code(code) == code

    def test_uscc_check(self):
        with pytest.raises(InvalidCode) as ei:
            validate_credit_code("914403001922038217")
        assert ei.value.rule == "GB 32100-2015 第18位校验码"
        assert ei.value.expected == "6"
        assert "应为 6" in str(ei.value)

    def test_first_failing_rule_is_reported(self):
        # Bad authority and bad check: the authority rule comes first.
        with pytest.raises(InvalidCode) as ei:
            validate_credit_code("B1350100M000100Y40")
        assert ei.value.rule == "GB 32100-2015 第1位登记管理部门码"
        # Bad division and bad org check: division first.
        with pytest.raises(InvalidCode) as ei:
            validate_credit_code("9135010AM000100Y50")
        assert ei.value.rule == "GB 32100-2015 第3-8位行政区划码"

    def test_exception_attributes(self):
        raw = " 91350100m000100y4x "
        with pytest.raises(InvalidCode) as ei:
            validate_credit_code(raw)
        e = ei.value
        assert isinstance(e, ValueError)
        assert e.code == raw
        assert e.normalized == "91350100M000100Y4X"
        assert e.kind == ORGANISATION
        assert e.english.startswith("Unified social credit code 91350100M000100Y4X")
        clone = pickle.loads(pickle.dumps(e))
        assert (clone.code, clone.rule, str(clone), clone.english, clone.expected) == (
            e.code, e.rule, str(e), e.english, e.expected)

    def test_check_char_helpers_match_reference(self):
        rng = random.Random(7)
        for _ in range(2000):
            first17 = "".join(rng.choice(USCC_ALPHABET) for _ in range(17))
            assert credit_code_check_char(first17) == ref_uscc_check(first17)
            body = "".join(rng.choice("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(8))
            assert organisation_code_check_char(body) == ref_org_check(body)
            digits = "".join(rng.choice("0123456789") for _ in range(17))
            assert id_check_char(digits) == ref_id_check(digits)

    def test_check_char_helpers_reject_bad_input(self):
        with pytest.raises(ValueError):
            credit_code_check_char("91350100M000100YI")
        with pytest.raises(ValueError):
            credit_code_check_char("91350100M")
        with pytest.raises(ValueError):
            id_check_char("1101051949123100A")


# ---------------------------------------------------------------------------
# 居民身份证号码: one test per rule
# ---------------------------------------------------------------------------
class TestIdNumberRules:
    def test_length(self):
        with pytest.raises(InvalidCode) as ei:
            validate_id_number("11010519491231002", today=TODAY)
        assert ei.value.rule == "GB 11643-1999 长度"
        assert "长度应为18位，实为17位" in str(ei.value)

    def test_old_15_digit_number_hint(self):
        with pytest.raises(InvalidCode) as ei:
            validate_id_number("110105491231002", today=TODAY)
        assert ei.value.rule == "GB 11643-1999 长度"
        assert "15位旧号码" in str(ei.value)

    def test_letter_in_first_17(self):
        with pytest.raises(InvalidCode) as ei:
            validate_id_number("1101051949123100AX", today=TODAY)
        assert ei.value.rule == "GB 11643-1999 字符"
        assert ei.value.position == 17
        assert "前17位只能是数字" in str(ei.value)

    def test_bad_check_character_symbol(self):
        with pytest.raises(InvalidCode) as ei:
            validate_id_number("11010519491231002Y", today=TODAY)
        assert ei.value.rule == "GB 11643-1999 字符"
        assert ei.value.position == 18
        assert "数字或X" in str(ei.value)

    @pytest.mark.parametrize("division", ["010105", "910105", "000000"])
    def test_division(self, division):
        first17 = division + "19491231002"
        with pytest.raises(InvalidCode) as ei:
            validate_id_number(first17 + ref_id_check(first17), today=TODAY)
        assert ei.value.rule == "GB 11643-1999 地址码"
        assert "地址码" in str(ei.value)

    @pytest.mark.parametrize("birth", ["20000230", "19990229", "19000229", "19491301",
                                       "19490001", "19490100", "19490431"])
    def test_not_a_calendar_date(self, birth):
        first17 = "110105" + birth + "002"
        with pytest.raises(InvalidCode) as ei:
            validate_id_number(first17 + ref_id_check(first17), today=TODAY)
        assert ei.value.rule == "GB 11643-1999 出生日期"
        assert f"出生日期“{birth}”不是有效日期" in str(ei.value)
        assert "not a valid calendar date" in ei.value.english

    def test_feb_30_message(self):
        first17 = "11010519800230002"
        code = first17 + ref_id_check(first17)
        with pytest.raises(InvalidCode) as ei:
            validate_id_number(code, today=TODAY)
        assert str(ei.value) == f"居民身份证号码 {code} 第7-14位出生日期“19800230”不是有效日期（GB 11643-1999）"

    def test_leap_days(self):
        for birth in ("20000229", "19960229", "20240229"):
            first17 = "110105" + birth + "002"
            assert validate_id_number(first17 + ref_id_check(first17), today=TODAY)

    def test_future_birth_date(self):
        first17 = "11010520250602001"
        code = first17 + ref_id_check(first17)
        with pytest.raises(InvalidCode) as ei:
            validate_id_number(code, today=dt.date(2025, 6, 1))
        assert ei.value.rule == "GB 11643-1999 出生日期"
        assert "2025-06-02 晚于今天（2025-06-01）" in str(ei.value)
        assert "in the future" in ei.value.english
        # Born today is fine; so is the same number once the date has come.
        assert validate_id_number(code, today=dt.date(2025, 6, 2)) == code

    def test_future_birth_date_with_real_today(self):
        future = dt.date.today() + dt.timedelta(days=2)
        first17 = f"110105{future:%Y%m%d}001"
        with pytest.raises(InvalidCode) as ei:
            validate_id_number(first17 + ref_id_check(first17))
        assert ei.value.rule == "GB 11643-1999 出生日期"

    def test_before_1900(self):
        first17 = "11010518991231002"
        with pytest.raises(InvalidCode) as ei:
            validate_id_number(first17 + ref_id_check(first17), today=TODAY)
        assert ei.value.rule == "GB 11643-1999 出生日期"
        assert "早于1900-01-01" in str(ei.value)
        first17 = "11010519000101002"
        assert validate_id_number(first17 + ref_id_check(first17), today=TODAY)

    def test_check_character(self):
        with pytest.raises(InvalidCode) as ei:
            validate_id_number("110105194912310021", today=TODAY)
        e = ei.value
        assert e.rule == "GB 11643-1999 校验码"
        assert e.expected == "X"
        assert str(e) == "居民身份证号码 110105194912310021 第18位校验码错误：应为 X（GB 11643-1999）"
        assert e.english == ("Resident identity card number 110105194912310021: check character "
                             "(character 18) is wrong, expected X (GB 11643-1999)")
        assert e.kind == PERSON

    def test_every_check_value_is_reachable(self):
        # Vary the sequence code until each of the 11 check characters appears.
        seen = {}
        for seq in range(1000):
            first17 = f"11010519491231{seq:03d}"
            seen.setdefault(ref_id_check(first17), first17)
        assert set(seen) == set("0123456789X")
        for check, first17 in seen.items():
            assert validate_id_number(first17 + check, today=TODAY) == first17 + check


# ---------------------------------------------------------------------------
# Generators
# ---------------------------------------------------------------------------
class TestGenerators:
    def test_credit_code_round_trip(self):
        rng = random.Random(2024)
        codes = [make_credit_code(rng) for _ in range(1000)]
        for code in codes:
            assert validate_credit_code(code) == code
            assert code.startswith("91460100")
            assert code[17] == ref_uscc_check(code[:17])
            assert code[16] == ref_org_check(code[8:16])
            assert subject_kind(code) == ORGANISATION
        assert len(set(codes)) == 1000

    def test_id_number_round_trip(self):
        rng = random.Random(2024)
        codes = [make_id_number(rng) for _ in range(1000)]
        for code in codes:
            assert validate_id_number(code) == code
            assert code.startswith("460100")
            assert "19400101" <= code[6:14] <= "20051231"
            assert code[17] == ref_id_check(code[:17])
            assert validate_subject_code(code) == (code, PERSON)
        assert len(set(codes)) > 990

    def test_deterministic(self):
        a = [make_credit_code(random.Random(5)) for _ in range(3)]
        assert a[0] == a[1] == a[2]
        rng1, rng2 = random.Random(9), random.Random(9)
        assert [make_id_number(rng1) for _ in range(50)] == [make_id_number(rng2) for _ in range(50)]

    def test_every_authority_and_category(self):
        rng = random.Random(3)
        for authority, (_zh, _en, cats) in REGISTRATION_AUTHORITIES.items():
            for category in cats:
                code = make_credit_code(rng, division="110108", authority=authority, category=category)
                assert code[:8] == authority + category + "110108"
                assert validate_credit_code(code) == code

    def test_given_birth_and_division(self):
        rng = random.Random(4)
        code = make_id_number(rng, division="110105", birth=dt.date(1949, 12, 31))
        assert code[:14] == "11010519491231"
        assert validate_id_number(code) == code

    def test_generator_argument_errors(self):
        rng = random.Random(0)
        with pytest.raises(ValueError):
            make_credit_code(rng, authority="B")
        with pytest.raises(ValueError):
            make_credit_code(rng, authority="9", category="9")
        with pytest.raises(ValueError):
            make_credit_code(rng, division="46010")
        with pytest.raises(ValueError):
            make_id_number(rng, birth=dt.date.today() + dt.timedelta(days=1))
        with pytest.raises(ValueError):
            make_id_number(rng, division="960100")


# ---------------------------------------------------------------------------
# Kind detection
# ---------------------------------------------------------------------------
def _all_digit_uscc_that_looks_like_an_id() -> str:
    """A valid USCC of digits only whose positions 7-14 read like a date."""
    rng = random.Random(11)
    for _ in range(100000):
        # division 110119 puts "19" at positions 7-8; positions 9-14 are the
        # first six org-code characters: "MMDD" must come at positions 11-14.
        body = "%02d" % rng.randrange(100) + "0615" + "%02d" % rng.randrange(100)
        first17 = "91110119" + body + ref_org_check(body)
        check = ref_uscc_check(first17)
        if first17.isdigit() and check.isdigit() and ref_id_check(first17) != check:
            return first17 + check
    raise AssertionError("none found")


class TestSubjectKind:
    def test_detects_person(self):
        assert subject_kind("11010519491231002X") == PERSON
        assert subject_kind("11010519491231002x") == PERSON
        assert validate_subject_code("11010519491231002x") == ("11010519491231002X", PERSON)

    def test_detects_organisation(self):
        assert subject_kind("91350100M000100Y43") == ORGANISATION
        assert subject_kind("914403001922038216") == ORGANISATION
        assert validate_subject_code("91350100m000100y43") == ("91350100M000100Y43", ORGANISATION)
        assert validate_subject_code("914403001922038216") == ("914403001922038216", ORGANISATION)

    def test_all_digit_uscc_looking_like_an_id(self):
        code = _all_digit_uscc_that_looks_like_an_id()
        assert code[:17].isdigit() and code[6:8] == "19"
        assert validate_credit_code(code) == code
        # It has the shape of an ID number but is not a valid one...
        with pytest.raises(InvalidCode):
            validate_id_number(code)
        # ...so detection falls back to the USCC it is.
        assert subject_kind(code) == ORGANISATION
        assert validate_subject_code(code) == (code, ORGANISATION)

    def test_detected_person_error(self):
        with pytest.raises(InvalidCode) as ei:
            validate_subject_code("110105194912310021")
        assert ei.value.rule == "GB 11643-1999 校验码"
        assert ei.value.kind == PERSON

    def test_detected_organisation_error(self):
        with pytest.raises(InvalidCode) as ei:
            validate_subject_code(" 91350100M000100Y4X")
        assert ei.value.rule == "GB 32100-2015 第18位校验码"
        assert ei.value.code == " 91350100M000100Y4X"
        assert ei.value.kind == ORGANISATION

    def test_person_with_impossible_date_is_detected_as_organisation(self):
        # Positions 7-14 are not a plausible date, so this reads as a USCC
        # (and fails as one: category 1 of authority 1 is fine, but checks fail).
        with pytest.raises(InvalidCode) as ei:
            validate_subject_code("110105194913310021")
        assert ei.value.kind == ORGANISATION

    def test_wrong_length_mentions_both_forms(self):
        with pytest.raises(InvalidCode) as ei:
            validate_subject_code("1234567")
        e = ei.value
        assert e.rule == "GB 32100-2015 / GB 11643-1999 长度"
        assert "统一社会信用代码" in str(e) and "居民身份证号码" in str(e)
        assert "均为18位" in str(e)
        assert "both" in e.english and "18 characters" in e.english
        assert e.kind is None

    def test_explicit_kind(self):
        assert validate_subject_code("91350100M000100Y43", ORGANISATION) == ("91350100M000100Y43", ORGANISATION)
        assert validate_subject_code("11010519491231002X", PERSON) == ("11010519491231002X", PERSON)
        # An explicit kind uses that kind's rules, and only those.
        with pytest.raises(InvalidCode) as ei:
            validate_subject_code("11010519491231002X", ORGANISATION)
        assert ei.value.kind == ORGANISATION
        with pytest.raises(InvalidCode) as ei:
            validate_subject_code("91350100M000100Y43", PERSON)
        assert ei.value.rule == "GB 11643-1999 字符"
        with pytest.raises(InvalidCode) as ei:
            validate_subject_code("12345", PERSON)
        assert ei.value.rule == "GB 11643-1999 长度"

    def test_today_is_passed_on(self):
        first17 = "11010520250602001"
        code = first17 + ref_id_check(first17)
        assert validate_subject_code(code, today=dt.date(2025, 6, 2)) == (code, PERSON)
        with pytest.raises(InvalidCode) as ei:
            validate_subject_code(code, today=dt.date(2025, 6, 1))
        assert ei.value.rule == "GB 11643-1999 出生日期"

    def test_unknown_kind(self):
        with pytest.raises(ValueError):
            validate_subject_code("91350100M000100Y43", "company")

    def test_subject_kind_other_lengths(self):
        assert subject_kind("110105491231002") == PERSON
        assert subject_kind("ABC") == ORGANISATION
