"""An example third-party copytool: files over WebDAV and HTTP(S) with `requests`."""

from .tool import WebdavTool

__all__ = ["WebdavTool"]
