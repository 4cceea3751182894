"""A public conformance suite for copytools, for their authors to run against their own storage.

Subclass `CopytoolConformance` and override its one fixture, `backend`, to return a
`StorageBackend` (often a `DirectoryBackend`) for your copytool::

    class TestMine(CopytoolConformance):
        @pytest.fixture
        def backend(self, tmp_path):
            return DirectoryBackend(MyTool(), tmp_path / "storage", "file://")

This package needs pytest; the rest of copytools never imports it.
"""

from .backend import DirectoryBackend, SilentPort, StorageBackend, Unsupported
from .conformance import CopytoolConformance

__all__ = ["CopytoolConformance", "DirectoryBackend", "SilentPort", "StorageBackend", "Unsupported"]
