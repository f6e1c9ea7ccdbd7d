"""Property-based tests of the handoff API against its own OpenAPI document (Schemathesis).

Every operation of the app's ``/openapi.json`` (the routes of ``contracts/handoff_api.openapi.json``
plus the supervisor-only privacy routes) gets generated requests — valid and invalid bodies, path
and query values at and beyond their bounds, odd strings — with the right credentials for its side
(bot token for the ``bot`` routes, a supervisor's session for the rest; one case in eight with
none). Two checks:

* ``not_a_server_error``: no 5xx, whatever the input;
* ``status_code_conformance``: every status the API answers is documented for that route (so a
  client knows every error it can get, with its shape).

The run is reproducible: a fixed seed and a bounded number of examples per operation
(``ATIENDE_SCHEMATHESIS_EXAMPLES``, default 12, about 400 requests). The report's one-off run of
more than 5,000 cases is this same test with a larger number (see reports/reliability/README.md).

Half of the generated handoff ids and conversation ids are mapped onto rows that exist (a queued,
an assigned and a closed handoff), so the generated requests reach the routes' state checks instead
of stopping at 404. The live streams (``/api/stream``, ``/api/widget/{id}/stream``) never end a
response and are left out; their 401/404/422 answers have their own tests.

Schemathesis is a declared test dependency (pyproject.toml, requirements/app.lock): if it is not
installed this module fails at import — loudly, not skipped.
"""

from __future__ import annotations

import json
import os
import tempfile
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis  # noqa: F401 - a missing package must fail here, not skip
from schemathesis.checks import not_a_server_error, status_code_conformance
from schemathesis.config import SchemathesisConfig

from handoff_api import auth
from handoff_api.app import create_app
from tests.handoff_api.conftest import BOT, add_agent, login, make_settings, packet

SEED = 20261207
EXAMPLES = int(os.environ.get("ATIENDE_SCHEMATHESIS_EXAMPLES", "12"))
STREAMS = ("/api/stream", "/api/widget/{conversation_id}/stream")
CHECKS = [not_a_server_error, status_code_conformance]
# ATIENDE_SCHEMATHESIS_REPORT=<file>: write the status codes answered per operation there (the
# report's one-off run counts its cases with it)
STATUSES: dict[str, Counter] = {}


class World:
    """The app under test plus the rows generated requests are pointed at."""

    def __init__(self) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="atiende-schemathesis-")
        data = Path(self.tmp.name)
        database = os.environ.get("ATIENDE_SCHEMATHESIS_DB") or f"sqlite:///{data / 'handoff.db'}"
        # the store webhooks configured (unconfigured they answer a documented 503 on purpose)
        secrets = {f"{p}_webhook_secret": f"{p}-webhook-secret-0123456789"
                   for p in ("woocommerce", "tiendanube", "shopify")}
        self.app = create_app(make_settings(database, data_dir=data, **secrets))
        self.handoff_ids: list[int] = []
        self.conversations: list[str] = []
        self.agent_headers: dict[str, str] = {}

    def seed(self) -> None:
        from fastapi.testclient import TestClient

        add_agent(self.app, "sofia", role="supervisor", capacity=50)
        with TestClient(self.app) as client:
            self.agent_headers = login(client, "sofia")
            for i, fate in enumerate(("queued", "assigned", "resolved", "queued")):
                cid = f"st-conv-{i}"
                r = client.post("/api/handoffs", json=packet(cid), headers=BOT)
                assert r.status_code == 201, r.text
                hid = r.json()["id"]
                if fate in ("assigned", "resolved"):
                    assert client.post(f"/api/handoffs/{hid}/claim",
                                       headers=self.agent_headers).status_code == 200
                if fate == "resolved":
                    assert client.post(f"/api/handoffs/{hid}/resolve",
                                       headers=self.agent_headers).status_code == 200
                self.handoff_ids.append(hid)
                self.conversations.append(cid)

    def close(self) -> None:
        self.app.state.services.engine.dispose()
        self.tmp.cleanup()


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    saved = auth.BCRYPT_ROUNDS
    auth.BCRYPT_ROUNDS = 4  # module-scoped: the function-scoped autouse patch is not active yet
    w = World()
    try:
        w.seed()
        yield w
    finally:
        auth.BCRYPT_ROUNDS = saved
        w.close()
        if report := os.environ.get("ATIENDE_SCHEMATHESIS_REPORT"):
            total = sum(sum(c.values()) for c in STATUSES.values())
            Path(report).write_text(json.dumps({
                "seed": SEED, "examples_per_operation": EXAMPLES, "cases": total,
                "server_errors": sum(n for c in STATUSES.values() for code, n in c.items()
                                     if code.startswith("5")),
                "statuses": {k: dict(v) for k, v in sorted(STATUSES.items())}}, indent=1) + "\n")


def load_schema(world: World) -> Any:
    config = SchemathesisConfig.from_dict({
        "seed": SEED,
        "generation": {"max-examples": EXAMPLES}})
    schema = schemathesis.openapi.from_asgi("/openapi.json", world.app, config=config)
    return schema.exclude(path=list(STREAMS))


def operation_labels() -> list[str]:
    """The operations to fuzz, read from the contract file at collection (cheap) plus the
    supervisor-only privacy routes; ``test_the_generator_reaches_every_route`` checks this list
    against the running app's own document."""
    import contracts

    document = json.loads(contracts.CONTRACT_FILE.read_text(encoding="utf-8"))
    labels = {f"{method.upper()} {path}" for path, ops in document["paths"].items()
              for method in ops if path not in STREAMS}
    labels |= {"POST /api/privacy/erasure", "GET /api/privacy/retention",
               "POST /api/privacy/retention/run"}
    return sorted(labels)


@pytest.fixture(scope="module")
def api_schema(world: World) -> Any:
    return load_schema(world)


def point_at_real_rows(case: Any, world: World) -> None:
    """Map about half of the generated ids onto existing rows (deterministic in the value)."""
    params = case.path_parameters or {}
    hid = params.get("handoff_id")
    if isinstance(hid, int) and hid % 2 == 0:
        params["handoff_id"] = world.handoff_ids[(hid // 2) % len(world.handoff_ids)]
    cid = params.get("conversation_id")
    if isinstance(cid, str) and len(cid) % 2 == 0:
        params["conversation_id"] = world.conversations[len(cid) % len(world.conversations)]


def cases(operation: Any) -> Any:
    """Valid requests and invalid ones (wrong types, out-of-range values, missing fields)."""
    import hypothesis.strategies as st
    from schemathesis.generation import GenerationMode

    return st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                     operation.as_strategy(GenerationMode.NEGATIVE))


@pytest.mark.parametrize("label", operation_labels())
def test_no_5xx_and_every_status_documented(label: str, api_schema: Any, world: World) -> None:
    method, path = label.split(" ", 1)
    operation = api_schema[path][method]
    tags = operation.definition.raw.get("tags") or []
    failures: list[str] = []

    @hypothesis.settings(max_examples=EXAMPLES, deadline=None, database=None,
                         derandomize=False, phases=[hypothesis.Phase.explicit,
                                                    hypothesis.Phase.generate],
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.seed(SEED)
    @hypothesis.given(case=cases(operation))
    def run(case: Any) -> None:
        point_at_real_rows(case, world)
        headers = dict(BOT) if "bot" in tags else dict(world.agent_headers)
        # (hypothesis favours small numbers, so the choice comes from a hash of the case)
        anonymous = zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode()) % 8
        if anonymous == 0 or path == "/api/auth/logout":
            # one case in eight without credentials (its 401 must be documented too); a
            # generated logout must not end the session the other cases use
            headers = {}
        response = case.call(headers=headers)
        STATUSES.setdefault(label, Counter())[str(response.status_code)] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # noqa: BLE001 - schemathesis' FailureGroup; collect all
            failures.append(f"{response.status_code} {case.method} {case.formatted_path}: "
                            f"{str(exc)[:400]}\n  reproduce: {case.as_curl_command(headers)}")

    run()
    assert not failures, f"{len(failures)} failing case(s):\n" + "\n".join(failures[:10])


def test_the_generator_reaches_every_route(api_schema: Any) -> None:
    """The parametrized list is what the app publishes, minus the two streams: a route added
    later (and not in the contract file) must be added here, so it is fuzzed too."""
    operations = {f"{op.ok().method.upper()} {op.ok().path}"
                  for op in api_schema.get_all_operations()}
    assert operations == set(operation_labels())
