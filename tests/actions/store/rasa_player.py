"""Plays conversations through the trained Rasa model against running action servers.

Runs in the bot environment (Python 3.10, Rasa 3.6), started by test_conversations.py (app env):

    .venv/bot/bin/python tests/actions/store/rasa_player.py PLAN.json

PLAN: ``{"model": path, "runs": [{"name": str, "action_url": str,
"conversations": [{"id": str, "turns": [str, ...]}]}]}``. The model is loaded once; each run
points Rasa's action endpoint at its own action server (one per store backend), and each
conversation is a fresh sender. Every turn prints one line ``TURN {json}`` with the bot's replies
(texts and button payloads), the intent NLU chose and the actions that ran.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid


async def main(plan: dict) -> None:
    import logging

    logging.disable(logging.WARNING)
    from rasa.core.agent import load_agent
    from rasa.core.utils import AvailableEndpoints
    from rasa.utils.endpoints import EndpointConfig

    runs = plan["runs"]
    started = time.monotonic()
    agent = await load_agent(model_path=plan["model"], endpoints=AvailableEndpoints(
        action=EndpointConfig(runs[0]["action_url"])))
    print(f"LOADED {time.monotonic() - started:.1f}", flush=True)
    for run in runs:
        endpoint = EndpointConfig(run["action_url"])
        agent.action_endpoint = endpoint
        agent.processor.action_endpoint = endpoint  # type: ignore[union-attr]
        for conversation in run["conversations"]:
            sender = f"{run['name']}-{conversation['id']}-{uuid.uuid4().hex[:6]}"
            for n, text in enumerate(conversation["turns"]):
                tracker = await agent.tracker_store.retrieve(sender)
                seen = len(tracker.events) if tracker else 0
                replies = await agent.handle_text(text, sender_id=sender) or []
                tracker = await agent.tracker_store.retrieve(sender)
                events = list(tracker.events)[seen:] if tracker else []
                intent = next((e.intent.get("name") for e in events
                               if e.type_name == "user"), None)
                actions = [e.action_name for e in events
                           if e.type_name == "action" and e.action_name != "action_listen"]
                print("TURN " + json.dumps({
                    "run": run["name"], "conversation": conversation["id"], "turn": n,
                    "sender": sender, "intent": intent, "actions": actions,
                    "texts": [r.get("text") or "" for r in replies],
                    "buttons": [b.get("payload") for r in replies for b in r.get("buttons") or []],
                }, ensure_ascii=False), flush=True)
    print(f"DONE {time.monotonic() - started:.1f}", flush=True)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as handle:
        asyncio.run(main(json.load(handle)))
