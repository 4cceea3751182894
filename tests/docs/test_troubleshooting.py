"""The troubleshooting guide's headings name real error codes: number and name as in ErrorCodes."""

from __future__ import annotations

import re
from pathlib import Path

from copytools.errors import ErrorCodes

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guides" / "troubleshooting.md"
HEADING = re.compile(r"^### (\d+) ([A-Z]+)$", re.MULTILINE)


def test_every_heading_is_a_known_code_with_its_name() -> None:
    headings = HEADING.findall(GUIDE.read_text(encoding="utf-8"))
    assert len(headings) >= 20
    wrong = [(number, name) for number, name in headings if getattr(ErrorCodes, name, None) != int(number)]
    assert wrong == []


def test_no_code_is_explained_twice() -> None:
    numbers = [number for number, _ in HEADING.findall(GUIDE.read_text(encoding="utf-8"))]
    assert len(numbers) == len(set(numbers))
