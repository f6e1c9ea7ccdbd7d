"""Command line: ``python -m handoff_api [serve|create-agent|seed-demo|migrate]``."""

from __future__ import annotations

import argparse
import logging
import sys

from handoff_api.settings import Settings

DEMO_AGENTS = (
    ("ana", "atiende-demo", "supervisor", "Ana", "es,en"),
    ("leo", "atiende-demo", "agent", "Leo", "es,en"),
)


def _sessions(settings: Settings):  # noqa: ANN202 - small helper
    from handoff_api.db import make_engine, make_session_factory, run_migrations

    engine = make_engine(settings.database_url)
    run_migrations(engine)
    return engine, make_session_factory(engine)


def create_agent_cmd(settings: Settings, args: argparse.Namespace) -> int:
    from handoff_api.auth import create_agent
    from handoff_api.db import session_scope

    engine, factory = _sessions(settings)
    try:
        with session_scope(factory) as s:
            agent = create_agent(s, username=args.username, password=args.password, role=args.role,
                                 name=args.name, languages=args.languages, capacity=args.capacity)
            print(f"created {agent.role} {agent.username} ({agent.name}, languages "
                  f"{agent.languages})")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    return 0


def seed_demo(settings: Settings, *, quiet: bool = False) -> list[str]:
    """Create the demo agents that do not exist yet; returns the usernames created."""
    from sqlalchemy import select

    from handoff_api.auth import create_agent
    from handoff_api.db import session_scope
    from handoff_api.models import Agent

    engine, factory = _sessions(settings)
    created = []
    try:
        with session_scope(factory) as s:
            for username, password, role, name, languages in DEMO_AGENTS:
                if s.scalar(select(Agent).where(Agent.username == username)) is None:
                    create_agent(s, username=username, password=password, role=role, name=name,
                                 languages=languages)
                    created.append(username)
    finally:
        engine.dispose()
    if not quiet:
        print("demo agents: " + ", ".join(f"{u}/{p} ({r})" for u, p, r, _, _ in DEMO_AGENTS))
    return created


def serve(settings: Settings) -> int:
    import uvicorn

    from handoff_api.app import create_app

    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.environment == "development":
        seed_demo(settings, quiet=True)
        print("development mode - demo agents: "
              + ", ".join(f"{u}/{p} ({r})" for u, p, r, _, _ in DEMO_AGENTS), flush=True)
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level.lower())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handoff_api", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the API with uvicorn on HANDOFF_HOST:HANDOFF_PORT (default)")
    ca = sub.add_parser("create-agent", help="create an agent or supervisor account")
    ca.add_argument("--username", required=True)
    ca.add_argument("--password", required=True)
    ca.add_argument("--role", choices=("agent", "supervisor"), default="agent")
    ca.add_argument("--name")
    ca.add_argument("--languages", default="es")
    ca.add_argument("--capacity", type=int)
    sub.add_parser("seed-demo", help="create demo agents ana and leo (password atiende-demo)")
    sub.add_parser("migrate", help="bring the database schema up to date")
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except ValueError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    command = args.command or "serve"
    if command == "create-agent":
        return create_agent_cmd(settings, args)
    if command == "seed-demo":
        seed_demo(settings)
        return 0
    if command == "migrate":
        engine, _ = _sessions(settings)
        engine.dispose()
        print("schema up to date")
        return 0
    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
