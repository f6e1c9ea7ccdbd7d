"""Attack: guess an agent's password — many tries at one account (from many addresses), or one
address trying many accounts — and hope a restart resets the count.

Failed logins are counted in the handoff database per account and per client address (SQLite
and PostgreSQL): past 5 failures for an account, or 20 from an address, the next attempts are
refused with 429, ``Retry-After`` and "try again in N s" — even with the right password — the
wait doubling with each further failure. The count survives a restart and is shared by replicas.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from handoff_api.app import create_app
from handoff_api.auth import ACCOUNT_RULE, ADDRESS_RULE
from handoff_api.models import LoginThrottle
from handoff_api.queue import now_utc
from tests.handoff_api.conftest import (  # noqa: F401 - fixtures
    _fast_bcrypt,
    add_agent,
    database_url,
    make_settings,
    pg_database_url,
)
from tests.security.console_helpers import PASSWORD


@pytest.fixture
def app(database_url: str) -> Iterator[Any]:  # noqa: F811
    application = create_app(make_settings(database_url))
    add_agent(application, "leo")
    yield application
    application.state.services.engine.dispose()


def attempt(app: Any, address: str, username: str = "leo", password: str = "wrong-guess"):
    with TestClient(app, client=(address, 40000)) as client:
        return client.post("/api/auth/login", json={"username": username, "password": password})


def unlock(app: Any, key: str) -> None:
    """Let the wait pass (instead of sleeping through it)."""
    with app.state.services.write_sessions()() as s:
        s.execute(update(LoginThrottle).where(LoginThrottle.key == key)
                  .values(locked_until=now_utc() - timedelta(seconds=1)))
        s.commit()


def test_twenty_wrong_logins_at_one_account_from_twenty_addresses(app: Any) -> None:
    answers = [attempt(app, f"203.0.113.{i}") for i in range(1, 21)]
    codes = [r.status_code for r in answers]
    free = ACCOUNT_RULE.free_failures
    # the first guesses are checked (401); then the account must wait (429), whatever the address
    assert codes[:free + 1] == [401] * (free + 1) and codes[free + 1:] == [429] * (20 - free - 1)
    throttled = answers[-1]
    wait = int(throttled.headers["Retry-After"])
    assert 1 <= wait <= ACCOUNT_RULE.base_seconds
    assert throttled.json()["detail"].endswith(f"try again in {wait} s")
    # even the right password waits: guessing cannot continue by luck
    assert attempt(app, "198.51.100.7", password=PASSWORD).status_code == 429

    unlock(app, "account:leo")
    again = attempt(app, "198.51.100.8")  # one more wrong guess: checked, then a longer wait
    assert again.status_code == 401
    later = attempt(app, "198.51.100.9")
    assert later.status_code == 429
    assert int(later.headers["Retry-After"]) > ACCOUNT_RULE.base_seconds  # the wait doubled

    unlock(app, "account:leo")
    ok = attempt(app, "198.51.100.10", password=PASSWORD)
    assert ok.status_code == 200  # the real agent gets in once the wait is over...
    assert attempt(app, "198.51.100.11").status_code == 401  # ...and the count starts again


def test_one_address_trying_many_accounts_is_throttled_across_a_restart(
        app: Any, database_url: str) -> None:  # noqa: F811
    address = "192.0.2.66"
    codes = [attempt(app, address, username=f"user{i}").status_code for i in range(25)]
    free = ADDRESS_RULE.free_failures
    assert codes[:free + 1] == [401] * (free + 1) and set(codes[free + 1:]) == {429}
    # another address (another agent in the office) is not affected
    assert attempt(app, "192.0.2.67", password=PASSWORD).status_code == 200
    # a restart (or a second replica on the same database) keeps the count
    app.state.services.engine.dispose()
    restarted = create_app(make_settings(database_url))
    try:
        r = attempt(restarted, address, username="leo", password=PASSWORD)
        assert r.status_code == 429 and "try again in" in r.json()["detail"]
    finally:
        restarted.state.services.engine.dispose()


def test_the_console_says_when_to_try_again(app: Any) -> None:
    """The refusal is a sentence a person can act on, in the API answer."""
    for _ in range(ACCOUNT_RULE.free_failures + 1):
        attempt(app, "198.51.100.20")
    r = attempt(app, "198.51.100.21")
    assert r.status_code == 429
    assert r.json()["detail"].startswith("Too many failed logins")
    assert r.headers["Retry-After"].isdigit()
