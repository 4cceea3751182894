"""copytools: stage a grid job's files in and out of storage, pilot-compatible.

The public names load on first use, so that a console script of this package (`lsm-get --version`,
say) starts without importing the engine and the staging clients.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .catalog import ClientLocation, LocalCatalog
    from .engine import Event, TransferEngine
    from .engine_options import EngineOptions
    from .errors import CopytoolsError, ErrorCodes
    from .filespec import FileSpec, files_from_job
    from .site import load_queue, load_storages
    from .staging import StageInClient, StageOutClient

_MODULE_OF = {
    "ClientLocation": ".catalog",
    "LocalCatalog": ".catalog",
    "EngineOptions": ".engine_options",
    "Event": ".engine",
    "TransferEngine": ".engine",
    "CopytoolsError": ".errors",
    "ErrorCodes": ".errors",
    "FileSpec": ".filespec",
    "files_from_job": ".filespec",
    "load_queue": ".site",
    "load_storages": ".site",
    "StageInClient": ".staging",
    "StageOutClient": ".staging",
}

__all__ = [
    "ClientLocation",
    "CopytoolsError",
    "EngineOptions",
    "ErrorCodes",
    "Event",
    "FileSpec",
    "LocalCatalog",
    "StageInClient",
    "StageOutClient",
    "TransferEngine",
    "__version__",
    "files_from_job",
    "load_queue",
    "load_storages",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module when the name is first asked for."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
