"""The log filter: every way personal data reaches a log line is redacted, formatters keep
working, handlers added later are covered, a failing redaction withholds instead of leaking."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from privacy import logs

EMAIL, PHONE, CARD = "carmen.navarro@example.com", "+34 655 908 172", "4273 9666 4581 5642"


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A private logger with its own handler (no propagation), redaction installed."""
    previous = logging.getLogRecordFactory()
    stream = io.StringIO()
    logger = logging.getLogger("test.privacy.logs")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.DEBUG)
    logs.install()
    try:
        yield logger, stream
    finally:
        logging.setLogRecordFactory(previous)
        logger.handlers = []


def test_arguments_message_and_traceback_are_redacted(captured) -> None:
    logger, stream = captured
    logger.info("shopper %s wrote from %s", EMAIL, PHONE)
    logger.warning(f"f-string with {CARD}")
    logger.info("mapping %(who)s", {"who": EMAIL})
    try:
        raise ValueError(f"no order for {EMAIL}")
    except ValueError:
        logger.exception("lookup failed for tel %s", "655908172")
    out = stream.getvalue()
    for secret in (EMAIL, PHONE, CARD, "655908172"):
        assert secret not in out
    assert "shopper [EMAIL] wrote from [PHONE]" in out
    assert "f-string with [CARD]" in out and "mapping [EMAIL]" in out
    assert "ValueError: no order for [EMAIL]" in out  # the traceback text itself


def test_formatters_that_read_args_keep_working(captured) -> None:
    """uvicorn's access formatter unpacks record.args; only the offending argument changes."""
    logger, stream = captured
    record_args: list[object] = []

    class AccessFormatter(logging.Formatter):
        def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - stdlib name
            client, method, path, status = record.args  # type: ignore[misc]
            record_args.append(record.args)
            return f"{client} {method} {path} {status}"

    logger.handlers[0].setFormatter(AccessFormatter())
    logger.info('%s - "%s %s" %d', "127.0.0.1:5000", "GET",
                "/api/conversations/34655908172/handoff", 200)
    assert stream.getvalue().strip() == "127.0.0.1:5000 GET /api/conversations/[PHONE]/handoff 200"
    assert record_args[0][3] == 200  # numbers stay numbers


def test_handlers_added_after_install_are_covered(captured) -> None:
    logger, _ = captured
    late = io.StringIO()
    other = logging.getLogger("test.privacy.late")
    other.propagate = False
    other.handlers = [logging.StreamHandler(late)]
    other.warning("card %s", CARD)
    other.handlers = []
    assert CARD not in late.getvalue() and "[CARD]" in late.getvalue()


def test_install_is_idempotent_and_redacts_once(captured, monkeypatch) -> None:
    logger, stream = captured
    calls: list[str] = []
    real = logs.redact
    monkeypatch.setattr(logs, "redact", lambda text: calls.append(text) or real(text))
    logger.info("phone %s", PHONE)
    once = len(calls)
    logs.install()
    logs.install()
    logger.handlers[0].addFilter(logs.FILTER)  # the factory and the filter both see the record
    logger.info("phone %s", PHONE)
    assert stream.getvalue().count("[PHONE]") == 2 and PHONE not in stream.getvalue()
    assert len(calls) == 2 * once  # the second record was not redacted twice


def test_a_failing_redaction_withholds_the_message(captured, monkeypatch) -> None:
    logger, stream = captured

    def broken(_text: str) -> str:
        raise RuntimeError("bug")

    monkeypatch.setattr(logs, "redact", broken)
    logger.error("payment with %s", CARD)
    assert CARD not in stream.getvalue() and logs.WITHHELD in stream.getvalue()


def test_the_supervisor_pipe_redacts_what_children_print(tmp_path) -> None:
    """print() and a crash traceback bypass logging; the supervisor's pipe catches them."""
    log = tmp_path / "child.log"
    code = (f"print('hola, soy {EMAIL}', flush=True)\n"
            f"raise SystemExit('tarjeta {CARD} rechazada')")
    with open(log, "ab", buffering=0) as sink:
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env={**os.environ})
        pipe = logs.RedactingPipe(proc.stdout, sink, name="child")
        proc.wait(30)
        pipe.join(10)
    text = log.read_text()
    assert EMAIL not in text and CARD not in text
    assert "hola, soy [EMAIL]" in text and "tarjeta [CARD] rechazada" in text
