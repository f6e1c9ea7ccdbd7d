"""bot/domain_digest.py against the real action server (rasa-sdk of the app env, our actions):
the domain goes once, then only its digest; the actions see the same domain; a restarted
action server (which has lost it) gets it again after its 449."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActiveLoop, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot import domain_digest
from tests.bot.channels.processes import action_server

ROOT = Path(__file__).resolve().parents[2]
#: Rasa's own functions (this module may be imported after another test installed the part)
ORIGINAL_FORMAT = domain_digest.STOCK.get("action_call_format", RemoteAction._action_call_format)
ORIGINAL_REQUEST = domain_digest.STOCK.get("request", EndpointConfig.request)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    process = action_server(tmp_path_factory.mktemp("actions"))
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture()
def sent() -> Iterator[list[dict[str, Any]]]:
    """Installs the part; records every body sent to the action server (and its answer)."""
    domain_digest.uninstall()
    domain_digest.install()
    bodies: list[dict[str, Any]] = []
    stock = domain_digest.STOCK["request"]

    async def recording(self: Any, *args: Any, **kwargs: Any) -> Any:
        bodies.append(dict(kwargs.get("json") or {}))
        return await stock(self, *args, **kwargs)

    domain_digest.STOCK["request"] = recording
    try:
        yield bodies
    finally:
        domain_digest.STOCK["request"] = stock
        domain_digest.uninstall()


def _domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


def _run(url: str, domain: Domain, action: str = "validate_csat_form") -> list[dict[str, Any]]:
    """The events the action server answers for a CSAT form whose effort question was just
    answered "muy fácil" (validated only if the action knows the form's slots: the domain)."""
    tracker = DialogueStateTracker.from_events("digest-test", [
        ActiveLoop("csat_form"), SlotSet("requested_slot", "ces"),
        UserUttered("muy fácil", {"name": "inform", "confidence": 1.0}),
        SlotSet("ces", "muy fácil")], slots=domain.slots)
    remote = RemoteAction(action, EndpointConfig(url + "/webhook"))
    events = asyncio.run(remote.run(CollectingOutputChannel(),
                                    TemplatedNaturalLanguageGenerator(domain.responses),
                                    tracker, domain))
    return [e.as_dict() for e in events]


def _stock_run(url: str, domain: Domain) -> list[dict[str, Any]]:
    """Rasa's own call: the domain every time, no digest."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(RemoteAction, "_action_call_format", ORIGINAL_FORMAT)
        patch.setattr(EndpointConfig, "request", ORIGINAL_REQUEST)
        return _run(url, domain)


def _plain(events: list[dict[str, Any]]) -> list[tuple]:
    return [(e["event"], e.get("name"), e.get("value")) for e in events]


def test_the_domain_goes_once_and_the_actions_see_the_same_domain(server: Any,
                                                                  sent: list[dict]) -> None:
    domain = _domain()
    stock = _plain(_stock_run(server.url, domain))
    assert any(e[1] == "ces" for e in stock), stock  # the form's slot was validated
    assert sent == []

    first, second, third = (_plain(_run(server.url, domain)) for _ in range(3))
    assert first == second == third == stock
    assert len(sent) == 3
    digest = domain_digest.digest_of(domain)
    assert sent[0]["domain"] == domain.as_dict() and sent[0]["domain_digest"] == digest
    assert "domain" not in sent[1] and "domain" not in sent[2]
    assert all(body["domain_digest"] == digest for body in sent)
    full, short = (len(json.dumps(body, default=str)) for body in sent[:2])
    assert full - short > 20_000  # the domain is ~25 KB of JSON


def test_a_restarted_action_server_gets_the_domain_again(server: Any, sent: list[dict]) -> None:
    domain = _domain()
    expected = _plain(_run(server.url, domain))
    assert "domain" in sent[0] or "domain" in sent[-1]
    server.stop()
    server.start()  # same port, a new process: it holds no domain
    sent.clear()
    assert _plain(_run(server.url, domain)) == expected
    # digest only -> 449 -> the same call with the domain
    assert ["domain" in body for body in sent] == [False, True]
    sent.clear()
    assert _plain(_run(server.url, domain)) == expected
    assert ["domain" in body for body in sent] == [False]


def test_an_action_run_without_the_domain_would_differ(server: Any) -> None:
    """What the test above guards against: the same call with an empty domain (rasa-sdk's
    default when none is sent) gives other events."""
    domain = _domain()
    empty = Domain.from_dict({"slots": domain.as_dict()["slots"]})
    assert _plain(_stock_run(server.url, domain)) != _plain(_stock_run(server.url, empty))


def test_switched_off_rasa_sends_its_own_body(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot import rasa_speedups

    monkeypatch.setenv("ATIENDE_RASA_SPEEDUPS_OFF", "domain_digest")
    assert not rasa_speedups.enabled("domain_digest")
    monkeypatch.setenv("ATIENDE_RASA_SPEEDUPS_OFF", "")
    assert rasa_speedups.enabled("domain_digest")
