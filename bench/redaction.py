"""What PII redaction costs per log line (python -m bench.redaction).

Compares, in one run: ``redact()`` alone on four kinds of lines (no digits at all; typical log
lines with numbers but no personal data; lines with an e-mail or a phone; a chat line with
several entities), and a full ``logger.info(...)`` through a real handler with redaction
installed versus not installed. Every line is warmed up first (the libraries load their metadata
lazily and the checks are cached, as in a running process); a second figure with the caches
cleared shows the first-time cost of a never-seen value. Prints CPU microseconds per line
(process time, so other jobs on a shared machine inflate it less than wall-clock time would) and
the load average at the start.
"""

from __future__ import annotations

import io
import logging
import os
import statistics
import time
from collections.abc import Callable

from privacy import checks, logs, redact

LINES = {
    "no digits": [
        "handoff_gate.retrier_started outbox=var/relay_outbox.db",
        "Application startup complete.",
        "socketio.message_ignored: no session_id (send session_request first)",
    ],
    "numbers, no PII": [
        "handoff_gate.to_rasa sender=9b2f0c1e message_id=1733500000123 channel=socketio",
        '127.0.0.1:51234 - "GET /api/queue HTTP/1.1" 200',
        "kb: no confident answer (0.412 < 0.550) for '¿hacéis envíos a Canarias?'",
        "order AT101001 total 138.90 EUR delivered 2025-11-16, tracking 1Z999AA10123456784",
    ],
    "one e-mail or phone": [
        "whatsapp.received id=wamid.HBgLMzQ2NTU from=34655908172 type=text",
        "rest.message_failed sender=carmen.navarro@example.com message_id=17",
        "kb: no confident answer (0.3 < 0.55) for 'mi móvil es 655 908 172'",
    ],
    "chat line, several entities": [
        "soy carmen.navarro@example.com, móvil +34 655 908 172, tarjeta 4111 1111 1111 1111 y "
        "DNI 48392017V, pedido AT101001",
    ],
}


def per_call_us(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(5):
        start = time.process_time()
        for _ in range(repeat):
            fn()
        samples.append((time.process_time() - start) / repeat * 1e6)
    return statistics.median(samples)


def clear_caches() -> None:
    for fn in (checks.is_card, checks.is_iban, checks.is_bank_account, checks.national_id_kind,
               checks.phone_ok):
        fn.cache_clear()


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print("redact() per line, CPU µs (median of 5 runs; warm caches | caches cleared each call)")
    for kind, lines in LINES.items():
        for line in lines:
            redact(line)
        warm = statistics.mean(per_call_us(lambda line=line: redact(line), 2000) for line in lines)

        def cold(lines: list[str] = lines) -> None:
            for line in lines:
                clear_caches()
                redact(line)

        cold_us = per_call_us(cold, 200) / len(lines)
        print(f"  {kind:<28} {warm:8.1f} | {cold_us:8.1f}")

    stream = io.StringIO()
    logger = logging.getLogger("bench.redaction")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.INFO)

    def log_mix() -> None:
        logger.info("handoff_gate.to_rasa sender=%s message_id=%s channel=%s", "9b2f0c1e",
                    "1733500000123", "socketio")
        logger.info("whatsapp.received id=%s from=%s type=%s", "wamid.HBgL", "34655908172", "text")

    previous = logging.getLogRecordFactory()
    plain = per_call_us(log_mix, 2000) / 2
    logs.install(logger)
    redacted = per_call_us(log_mix, 2000) / 2
    logging.setLogRecordFactory(previous)
    handler.removeFilter(logs.FILTER)
    print("logger.info() through a StreamHandler, CPU µs per line (a clean and a phone line)")
    print(f"  without redaction {plain:8.1f}\n  with redaction    {redacted:8.1f}  "
          f"(+{redacted - plain:.1f})")
    leaked = "34655908172" in stream.getvalue().split("whatsapp.received")[-1]
    print(f"  last redacted line leaked the phone: {leaked}")


if __name__ == "__main__":
    main()
