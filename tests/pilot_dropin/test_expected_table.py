"""EXPECTED.md's table is the one the drop-in tests assert (expected.EXPECTED), scenario for scenario."""

from pathlib import Path

from .expected import EXPECTED, table
from .scenarios import scenarios


def test_the_documented_table_is_the_tested_one():
    assert table() in Path(__file__).with_name("EXPECTED.md").read_text(encoding="utf-8")


def test_every_scenario_has_an_expectation_and_nothing_else():
    assert sorted(EXPECTED) == sorted(s.id for s in scenarios())
