"""The handoff service's tables, one module per group; import them from :mod:`handoff_api.models`,
which imports every one (so ``Base.metadata`` knows every table)."""
