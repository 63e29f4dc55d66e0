"""The critmin web dashboard and JSON API (``critmin serve``); see :mod:`critmin.web.app`."""
