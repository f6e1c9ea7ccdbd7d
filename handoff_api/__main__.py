"""Command line: ``python -m handoff_api [serve|create-agent|seed-demo|migrate]``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from handoff_api.retention import add_commands as add_privacy_commands
from handoff_api.retention import run_command as run_privacy_command
from handoff_api.settings import Settings
from privacy.logs import install as install_log_redaction

DEMO_AGENTS = (
    ("ana", "atiende-demo", "supervisor", "Ana", "es,en"),
    ("leo", "atiende-demo", "agent", "Leo", "es,en"),
)


def _sessions(settings: Settings):  # noqa: ANN202 - small helper
    from handoff_api.db import make_engine, make_write_session_factory, run_migrations

    engine = make_engine(settings.database_url, pool_size=2)
    run_migrations(engine)
    return engine, make_write_session_factory(engine)


def _password(args: argparse.Namespace) -> str:
    """The new account's password: asked twice on a terminal, else one line on stdin
    (``--password`` still works, but a command line is visible to every user in ``ps``)."""
    if args.password:
        return args.password
    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass(f"password for {args.username}: ")
        if first != getpass.getpass("again: "):
            raise ValueError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def create_agent_cmd(settings: Settings, args: argparse.Namespace) -> int:
    from handoff_api.auth import create_agent
    from handoff_api.db import session_scope

    try:
        args.password = _password(args)
        if len(args.password) < 12 and settings.environment == "production":
            raise ValueError("the password must have at least 12 characters in production")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

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
    install_log_redaction()  # every record of this process, uvicorn's access log included
    if settings.environment == "development":
        seed_demo(settings, quiet=True)
        print("development mode - demo agents: "
              + ", ".join(f"{u}/{p} ({r})" for u, p, r, _, _ in DEMO_AGENTS), flush=True)
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level.lower())
    return 0


def openapi_cmd(args: argparse.Namespace) -> int:
    """Write (or, with ``--check``, compare) the contract file both environments validate
    against: ``contracts/handoff_api.openapi.json``."""
    import contracts
    from handoff_api.app import openapi_document

    text = contracts.dumps(openapi_document())
    path = args.out or contracts.CONTRACT_FILE
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            print(f"{path} is out of date: run `python -m handoff_api openapi`", file=sys.stderr)
            return 1
        print(f"{path} is up to date")
        return 0
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0


def sync_templates_cmd() -> int:
    """``python -m handoff_api sync-templates``: what the console's sync does, for a cron job."""
    import asyncio

    from handoff_api.wa_templates import SyncError, TemplateRegistry

    registry = TemplateRegistry(Path(os.environ.get("ATIENDE_DATA_DIR", "var")))
    try:
        count = asyncio.run(registry.sync())
    except SyncError as exc:
        print(f"handoff API: template sync failed: {exc.detail}", file=sys.stderr)
        return 1
    approved = sum(1 for t in registry.templates() if t.approved)
    print(f"{count} templates from Meta; {approved} approved in the registry")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handoff_api", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the API with uvicorn on HANDOFF_HOST:HANDOFF_PORT (default)")
    ca = sub.add_parser("create-agent", help="create an agent or supervisor account")
    ca.add_argument("--username", required=True)
    ca.add_argument("--password", help="avoid: visible in ps; without it the password is asked "
                                       "for (terminal) or read from the first line of stdin")
    ca.add_argument("--role", choices=("agent", "supervisor"), default="agent")
    ca.add_argument("--name")
    ca.add_argument("--languages", default="es")
    ca.add_argument("--capacity", type=int)
    sub.add_parser("seed-demo", help="create demo agents ana and leo (password atiende-demo)")
    sub.add_parser("migrate", help="bring the database schema up to date")
    oa = sub.add_parser("openapi", help="write the bot<->handoff contract "
                                        "(contracts/handoff_api.openapi.json)")
    oa.add_argument("--check", action="store_true", help="fail if the file is out of date")
    oa.add_argument("--out", type=Path, help="another path to write to")
    sub.add_parser("sync-templates", help="read the WhatsApp template list from the Graph API "
                                          "(WHATSAPP_BUSINESS_ACCOUNT_ID) into the registry")
    add_privacy_commands(sub)
    args = parser.parse_args(argv)
    if args.command == "openapi":
        return openapi_cmd(args)
    if args.command == "sync-templates":
        return sync_templates_cmd()
    command = args.command or "serve"
    if command == "serve":
        from scripts.settings import refuse_unsafe_start

        refuse_unsafe_start("handoff")  # one line, before anything else (scripts/settings.py)
    try:
        settings = Settings()
    except ValueError as exc:
        errors = getattr(exc, "errors", None)
        detail = "; ".join(str(e.get("msg", "")).removeprefix("Value error, ")
                           for e in errors()) if callable(errors) else str(exc)
        print(f"handoff API: configuration error: {detail}", file=sys.stderr)
        return 2
    if command == "create-agent":
        return create_agent_cmd(settings, args)
    if command == "seed-demo":
        if settings.environment == "production":
            print("handoff API: no demo agents with ATIENDE_ENV=production; create the first "
                  "supervisor with `python -m handoff_api create-agent --role supervisor "
                  "--username <name>`", file=sys.stderr)
            return 2
        seed_demo(settings)
        return 0
    if command in ("retention", "erase"):
        return run_privacy_command(settings, args)
    if command == "migrate":
        engine, _ = _sessions(settings)
        engine.dispose()
        print("schema up to date")
        return 0
    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
