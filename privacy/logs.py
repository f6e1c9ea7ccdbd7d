"""Redaction of every log record a process writes.

``install()`` is called by each process's logging set-up (the Rasa server through ``bot``, the
action server through ``actions``, the handoff API in ``serve``, the supervisor in
``scripts.run``). It does two things, both idempotent:

* wraps the process's log record factory, so every record is redacted when it is created, whoever
  configured the handlers (Rasa, Sanic and uvicorn add their own, some after start-up, some on
  loggers that do not propagate to the root);
* adds :class:`RedactingFilter` to the root logger's handlers, in case a library later replaces the
  record factory.

A record is redacted once (a flag on the record). The message is checked *after* %-formatting,
because the personal data usually sits in ``record.args`` (``logger.info("from=%s", phone)``);
the traceback text is redacted too. When the arguments alone carry the data, they are replaced
one by one, so formatters that read ``record.args`` (uvicorn's access log) keep working; otherwise
the record gets the redacted message and no arguments. Cost: see ``bench/redaction.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from contracts.web_conversation import mask_ids
from privacy.redact import redact as redact_pii


def redact(text: str) -> str:
    """Personal data redacted, and web chat conversation ids (the handle of a conversation whose
    secret the widget holds) replaced by a fingerprint (secweb, issue #10)."""
    return mask_ids(redact_pii(text))

_FLAG = "_pii_redacted"
_FORMATTER = logging.Formatter()


def _redact_arg(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    text = str(value)
    cleaned = redact(text)
    return value if cleaned == text else cleaned


WITHHELD = "[log message withheld: redaction failed]"


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact ``record`` in place (message, arguments, traceback, stack) and return it.

    Never raises: if redaction itself fails, the message is withheld rather than logged raw.
    """
    if getattr(record, _FLAG, False):
        return record
    setattr(record, _FLAG, True)
    try:
        _redact(record)
    except Exception:
        record.msg, record.args, record.exc_info, record.exc_text = WITHHELD, (), None, None
        record.stack_info = None
    return record


def _redact(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: logging itself reports it later; keep it raw
        message = None
    if message is not None:
        cleaned = redact(message)
        if cleaned != message:
            _replace_message(record, cleaned)
    if record.exc_info and not record.exc_text:
        record.exc_text = _FORMATTER.formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def _replace_message(record: logging.LogRecord, cleaned: str) -> None:
    args = record.args
    template = redact(str(record.msg))
    new_args: Any = None
    if isinstance(args, tuple) and args:
        new_args = tuple(_redact_arg(a) for a in args)
    elif isinstance(args, Mapping) and args:
        new_args = {k: _redact_arg(v) for k, v in args.items()}
    if new_args is not None:
        try:
            candidate = template % new_args
        except Exception:
            candidate = None
        if candidate is not None and redact(candidate) == candidate:
            record.msg, record.args = template, new_args
            return
    record.msg, record.args = cleaned, ()


class RedactingFilter(logging.Filter):
    """A ``logging.Filter`` that never drops a record, only redacts it."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


FILTER = RedactingFilter()


def install(logger: logging.Logger | None = None) -> RedactingFilter:
    """Redact every log record of this process from now on (see the module docstring)."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, _FLAG, False):
        def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return redact_record(factory(*args, **kwargs))

        setattr(redacting_factory, _FLAG, True)
        logging.setLogRecordFactory(redacting_factory)
    for handler in (logger or logging.getLogger()).handlers:
        if FILTER not in handler.filters:
            handler.addFilter(FILTER)
    return FILTER


def installed() -> bool:
    return bool(getattr(logging.getLogRecordFactory(), _FLAG, False))


class RedactingPipe:
    """Copy a child process's output to a log file line by line, redacted (a daemon thread).

    The supervisor (``scripts.run``) reads each child's stdout/stderr through one of these, so
    what a child prints outside its logging (``print``, warnings, a crash traceback from C code or
    before logging is set up) is redacted too. Lines are flushed as they come.
    """

    def __init__(self, source: Any, sink: Any, *, name: str = "child") -> None:
        import threading

        self._source, self._sink = source, sink
        self._thread = threading.Thread(target=self._copy, name=f"redact-{name}", daemon=True)
        self._thread.start()

    def _copy(self) -> None:
        try:
            for raw in iter(self._source.readline, b""):
                line = raw.decode("utf-8", errors="replace")
                try:
                    line = redact(line)
                except Exception:
                    line = WITHHELD + "\n"
                self._sink.write(line.encode("utf-8"))
        except (OSError, ValueError):  # the log file was closed under us: stop copying
            pass
        finally:
            self._source.close()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)
