"""Atiende's human handoff service: the queue of conversations waiting for a person, the agent
console API, the relay of agents' replies to the shopper's channel and the hand-back to the bot.

Build an app with :func:`handoff_api.app.create_app`; run it with ``python -m handoff_api``.
Nothing is imported or opened here, so importing the package stays cheap.
"""
