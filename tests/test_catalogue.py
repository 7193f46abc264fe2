"""One language for problems: every code, message and command speaks Vietnamese, NFC."""

from __future__ import annotations

import string
import unicodedata

import pytest

from consolidate.core import problems as P
from consolidate.cli import main
from consolidate.settings.units import default_registry
from consolidate.core.text import fold, unit_key
from conftest import run_cli


@pytest.mark.parametrize("cls", list(P.CATALOGUE.values()), ids=list(P.CATALOGUE))
def test_every_problem_has_a_code_a_message_and_a_fix(cls):
    assert cls.code == cls.code.lower() and " " not in cls.code
    assert cls.severity in P.SEVERITY_LABELS
    for text in (cls.title, cls.template, cls.hint):
        assert text and unicodedata.is_normalized("NFC", text)
    assert unicodedata.is_normalized("NFC", cls.unit_hint)
    names = {f for _, f, _, _ in string.Formatter().parse(cls.template + cls.hint + cls.unit_hint) if f}
    message = cls(**{n: "x" for n in names})
    assert message.message and "{" not in message.message
    assert message.unit_how_to_fix and "{" not in message.unit_how_to_fix + message.how_to_fix


def test_every_command_has_vietnamese_help():
    for name, command in main.commands.items():
        result = run_cli(name, "--help")
        assert result.exit_code == 0
        assert command.help and "Ví dụ:" in command.help


def test_unit_names_match_whatever_the_unicode_form_or_tone_placement():
    registry = default_registry()
    hoa = registry.match("Xã Phước Hòa")
    assert hoa is not None and hoa.code == "x-phuoc-hoa"
    assert registry.match("xã  phước hoà") == hoa  # old tone placement, case, spaces
    assert registry.match(unicodedata.normalize("NFD", "Xã Phước Hòa")) == hoa
    assert registry.match("Xã Phước Hóa") is None  # a different tone is a different name
    assert registry.closest("Xã Phước Hoa")[0] == "Xã Phước Hòa"


def test_labels_fold_without_accents_case_or_line_breaks():
    assert fold("Thuê nhân viên\nDoanh nghiệp  BCCI") == fold("thue nhan vien doanh nghiep bcci")
    assert fold("Đơn vị") == "don vi"
    assert unit_key("Thuỷ") == unit_key("Thủy")


def test_the_registry_has_the_seed_units_in_order_with_stable_codes():
    units = default_registry().reporting_units()
    assert len(units) == 14
    assert units[0].name == "Cấp huyện" and units[-1].name == "Xã Phước Thuận"
    assert len({u.code for u in units}) == 14
    assert all(u.parent == "tuy-phuoc" for u in units)


def test_a_name_without_its_tone_marks_points_at_the_unit_of_the_same_district():
    from consolidate.core.registry import Registry, Unit

    registry = Registry([
        Unit("t", "Tỉnh Thử nghiệm", "tỉnh"),
        Unit("h1", "Huyện Một", "huyện", "t"), Unit("h2", "Huyện Hai", "huyện", "t"),
        Unit("a1", "Xã Bình Minh", "xã", "h1"), Unit("a2", "Xã Bình Mính", "xã", "h2"),
        Unit("b2", "Xã An Hòa", "xã", "h2"),
    ])
    assert registry.match("Xa Binh Minh") is None
    assert registry.closest("Xa Binh Minh") == ["Xã Bình Minh", "Xã Bình Mính"]
    assert registry.closest("Xa Binh Minh", within="h2") == ["Xã Bình Mính"]
    assert registry.closest("Xã An Hoà Đông", within="h2")[0] == "Xã An Hòa"  # no same-letter name: difflib
    assert "Xã Bình Minh" not in registry.closest("Xã Bình Mình Đông", within="h2")  # only that district
