"""Full training time of the Atiende model (goal: <= 6 minutes on a 2-core machine).

Runs the same command CI and developers use, in a throw-away output directory so the real
``models/atiende.tar.gz`` is not replaced, with ``--force`` so no cached step is reused, and
records the wall time together with the machine's load (the figure means little without it).

Run in the bot env, from the repo root:
    .venv/bot/bin/python -m bench.train_time
Writes reports/nlu/train_time.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_SECONDS = 6 * 60


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config.yml")
    parser.add_argument("--out", default=str(ROOT / "reports" / "nlu" / "train_time.json"))
    parser.add_argument("--keep-model", metavar="PATH",
                        help="copy the trained model there (e.g. models/atiende.tar.gz) "
                             "so the benchmark run doubles as the real training")
    args = parser.parse_args(argv)

    rasa = Path(sys.executable).with_name("rasa")
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false"}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="atiende-train-") as tmp:
        command = [str(rasa), "train", "--config", args.config, "--domain", "domain.yml",
                   "--data", "data", "--out", tmp, "--fixed-model-name", "bench", "--force"]
        started = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        model = Path(tmp) / "bench.tar.gz"
        size = model.stat().st_size if result.returncode == 0 else None
        if result.returncode == 0 and args.keep_model:
            Path(args.keep_model).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(model, args.keep_model)
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        print(f"training failed with exit code {result.returncode}", file=sys.stderr)
        return result.returncode
    report = {
        "wall_seconds": round(seconds, 1),
        "goal_seconds": GOAL_SECONDS,
        "within_goal": seconds <= GOAL_SECONDS,
        "model_bytes": size,
        "cpu_count": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "command": " ".join(command[1:]).replace(tmp, "<tmp>"),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"full training: {report['wall_seconds']} s (goal {GOAL_SECONDS} s, "
          f"load {report['load_average_before'][0]} -> {report['load_average_after'][0]})")
    return 0 if report["within_goal"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
