"""Personal data out of places it should not be: logs, analytics, KB-gap files.

One redaction module for every Atiende process (the Rasa server on Python 3.10 and the action
server / handoff API on Python 3.11), so it is pure Python plus two maintained libraries that
install on both: ``python-stdnum`` (national ids, IBANs and bank accounts with their check digits)
and ``phonenumbers`` (Google's libphonenumber metadata).

* :func:`redact` replaces e-mails, phones, card numbers, IBANs / bank accounts and national ids
  with typed placeholders (``[EMAIL]``, ``[PHONE]``, ``[CARD]``, ``[IBAN]``, ``[ID]``);
  :func:`find_pii` returns the spans.
* :mod:`privacy.logs` installs a ``logging.Filter`` that redacts every log record of a process.
* :mod:`privacy.records` redacts and pseudonymises analytics records (JSON lines).
* :mod:`privacy.stores` is the registry of stores that retention and erasure go through.

Importing this package is cheap: the libraries and their metadata load on the first call.
"""

from __future__ import annotations

from privacy.redact import PLACEHOLDERS, Span, find_pii, redact

__all__ = ["PLACEHOLDERS", "Span", "find_pii", "redact"]
