"""The Python examples of the README and of the documentation pages run as written."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```python\n(.*?)^```\n", re.DOTALL | re.MULTILINE)


def python_blocks(path: Path) -> list[tuple[int, str]]:
    """(line number, code) of every ```python block of a Markdown file."""
    text = path.read_text(encoding="utf-8")
    return [(text.count("\n", 0, match.start()) + 1, match.group(1)) for match in FENCE.finditer(text)]


def documented_examples() -> list[tuple[str, str]]:
    """(where, code) of every Python example in README.md and docs/."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return [
        (f"{page.relative_to(ROOT)}:{line}", code)
        for page in pages
        if "_build" not in page.parts
        for line, code in python_blocks(page)
    ]


EXAMPLES = documented_examples()


def test_readme_and_docs_have_python_examples() -> None:
    places = {where.split(":")[0] for where, _ in EXAMPLES}
    assert "README.md" in places
    assert len(places) >= 5


@pytest.mark.parametrize(("where", "code"), EXAMPLES, ids=[where for where, _ in EXAMPLES])
def test_example_runs(where: str, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from the repository root (examples use `examples/job.json`); temporary files go to tmp_path."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("COPYTOOLS_SITE", str(tmp_path / "site"))
    exec(compile(code, where, "exec"), {"__name__": "__example__"})  # noqa: S102


def test_autodoc_directives_are_in_rst_blocks() -> None:
    """MyST parses what a fenced ```{automodule} emits as Markdown, so the API would show as raw text."""
    fenced = [str(page.relative_to(ROOT)) for page in (ROOT / "docs").rglob("*.md") if "```{auto" in page.read_text()]
    assert fenced == []
