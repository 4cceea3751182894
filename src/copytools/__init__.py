"""copytools: stage a grid job's files in and out of storage, pilot-compatible."""

__version__ = "0.1.0"
