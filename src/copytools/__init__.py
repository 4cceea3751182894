"""copytools: stage a grid job's files in and out of storage, pilot-compatible."""

from ._version import __version__
from .catalog import ClientLocation, LocalCatalog
from .engine import EngineOptions, Event, TransferEngine
from .errors import CopytoolsError, ErrorCodes
from .filespec import FileSpec, files_from_job
from .site import load_queue, load_storages
from .staging import StageInClient, StageOutClient

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
