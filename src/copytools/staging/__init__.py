"""Staging clients: stage-in and stage-out of a job's files with the activity's copytools."""

from .client import StagingClient
from .stagein import StageInClient
from .stageout import StageOutClient

__all__ = ["StageInClient", "StageOutClient", "StagingClient"]
