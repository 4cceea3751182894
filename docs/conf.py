"""Sphinx configuration of the copytools documentation."""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "_ext"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))  # document this checkout, not an installed copy

# Option help that shows a default directory shows the generic one, not the build machine's.
os.environ.pop("COPYTOOLS_SITE", None)
os.environ["XDG_DATA_HOME"] = "~/.local/share"

import copytools  # noqa: E402

project = "copytools"
author = "the copytools authors"
copyright = "the copytools authors"
release = copytools.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinxarg.ext",
    "copytools_tables",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_typehints = "description"
autodoc_typehints_description_target = "all"
autodoc_member_order = "bysource"
autodoc_class_signature = "separated"
autodoc_default_options = {"show-inheritance": True}
default_role = "code"

html_theme = "furo"
html_title = f"copytools {release}"
