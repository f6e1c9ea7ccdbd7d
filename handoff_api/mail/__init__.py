"""Outgoing e-mail: a small ``Mailer`` interface, its SMTP adapter, the template catalogue (one
place, every language) and a durable outbox with retries.

Used for offline-case answers and reminders; meant for any other mail the service sends (return
or claim confirmations): render a template from :mod:`handoff_api.mail.templates`, enqueue it with
:func:`handoff_api.mail.outbox.enqueue_mail` in the transaction that decides it, and register what
should happen once it is sent (``MailWorker(on_sent={kind: callback})``).
"""

from handoff_api.mail.base import DisabledMailer, Mail, Mailer, MailError, build_mailer
from handoff_api.mail.smtp import SmtpMailer

__all__ = ["DisabledMailer", "Mail", "MailError", "Mailer", "SmtpMailer", "build_mailer"]
