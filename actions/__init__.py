"""Atiende's action server package (rasa-sdk).

rasa-sdk imports every module of this package at start-up, so modules here must do nothing heavy at
import time: no database connection, no model or index load. Adapters open lazily on first use.
"""

from privacy.logs import install as _install_log_redaction

# rasa-sdk configures logging, then imports this package: from here on every log record of the
# action server is redacted (e-mails, phones, cards, IBANs, national ids; see privacy/logs.py).
_install_log_redaction()

# Stage timings for bench/turn_latency.py: nothing happens unless ATIENDE_TIMING_DIR is set.
from actions import timing_hooks as _timing_hooks  # noqa: E402

_timing_hooks.install()

# GET /metrics for Prometheus (action latency and errors; actions/prometheus.py)
from actions import prometheus as _prometheus  # noqa: E402

_prometheus.install()
