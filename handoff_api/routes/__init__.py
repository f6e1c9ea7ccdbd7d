"""HTTP routes, one module per audience: the bot, agents' handoff work, accounts, live streams."""
