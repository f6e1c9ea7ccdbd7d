"""Build what the running system needs, skipping whatever is already up to date.

- the Rasa model: retrained only when the training inputs' content hash changes
  (the hash is stored next to the model), or when the model file is missing or unreadable;
- the knowledge-base index: `kb_index build` compares the articles' hash itself;
- the demo data: the demo store and the demo agents are created once per data directory (never
  with ATIENDE_ENV=production).

Usage: python -m scripts.prepare [model|kb|seed|all]
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from scripts import settings as cfg

ROOT = cfg.ROOT
TRAINING_INPUTS = ("config.yml", "domain.yml", "data/nlu", "data/rules", "data/stories",
                   "bot/components", "requirements/bot.lock")
HASH_FILE = ROOT / "models" / "atiende.hash"


def log(message: str) -> None:
    print(f"\033[1;34m[prepare]\033[0m {message}", flush=True)


def training_hash() -> str:
    """Content hash of every file that changes what `rasa train` produces."""
    digest = hashlib.sha256()
    for entry in TRAINING_INPUTS:
        path = ROOT / entry
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.suffix in {".pyc"} or "__pycache__" in file.parts or not file.exists():
                continue
            digest.update(str(file.relative_to(ROOT)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def model_problem(model: Path = cfg.MODEL) -> str | None:
    """Why the model file cannot be used, or None when it is a readable Rasa model archive."""
    name = model.relative_to(ROOT) if model.is_relative_to(ROOT) else model
    if not model.exists():
        return f"{name} does not exist"
    try:
        with tarfile.open(model, "r:gz") as archive:
            names = archive.getnames()
    except (tarfile.TarError, OSError, EOFError) as exc:
        return f"{name} is corrupt ({exc.__class__.__name__}: {exc})"
    if not any(name.endswith("metadata.json") for name in names):
        return f"{name} is not a Rasa model (no metadata.json inside)"
    return None


def run(cmd: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(cmd, cwd=ROOT, env=env)
    if result.returncode != 0:
        raise SystemExit(f"command failed ({result.returncode}): {' '.join(cmd)}")


def train_model(env: dict[str, str], force: bool = False) -> None:
    wanted = training_hash()
    current = HASH_FILE.read_text().strip() if HASH_FILE.exists() else ""
    problem = model_problem()
    if not force and problem is None and current == wanted:
        log(f"Rasa model up to date (inputs {wanted})")
        return
    log(f"training the Rasa model: {problem or 'training data or config changed'}")
    cfg.MODEL.unlink(missing_ok=True)
    started = time.monotonic()
    run([str(ROOT / ".venv/bot/bin/rasa"), "train", "--config", "config.yml", "--domain",
         "domain.yml",
         "--data", "data/nlu", "data/rules", "data/stories", "--out", "models",
         "--fixed-model-name", "atiende"], env)
    if (problem := model_problem()) is not None:
        raise SystemExit(f"training finished but {problem}")
    HASH_FILE.write_text(wanted + "\n")
    log(f"model trained in {time.monotonic() - started:.0f} s")


def build_kb(env: dict[str, str]) -> None:
    run([str(cfg.APP_PY), "-m", "kb_index", "build", "--input", "data/kb",
         "--out", env["KB_INDEX_DIR"]], env)


def seed(env: dict[str, str]) -> None:
    if cfg.is_production(env):
        log("ATIENDE_ENV=production: no demo store and no demo agents are created; create the "
            "first supervisor with `python -m handoff_api create-agent --role supervisor "
            "--username <name>` (README, Deployment)")
        return
    run([str(cfg.APP_PY), "-m", "actions.store", "seed", "--db", env["STORE_DATABASE"]], env)
    run([str(cfg.APP_PY), "-m", "handoff_api", "seed-demo"], env)


def main(argv: list[str]) -> None:
    what = argv[0] if argv else "all"
    env = cfg.load().child_env()
    steps = {"model": [train_model], "kb": [build_kb], "seed": [seed],
             "all": [train_model, build_kb, seed]}
    if what not in steps:
        raise SystemExit(__doc__)
    for step in steps[what]:
        step(env)


if __name__ == "__main__":
    main(sys.argv[1:])
