"""Rasa-side code of Atiende (NLU components, channels, handoff gate, tracker store).

The Rasa server imports this package while it starts (channels from credentials.yml, the tracker
store from endpoints.yml, components from the model), after Rasa has configured logging: from
then on every log record of the process is redacted (see privacy/logs.py).
"""

from privacy.logs import install as _install_log_redaction

_install_log_redaction()
