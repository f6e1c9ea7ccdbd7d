"""End-to-end turn latency and throughput of the running system, with a per-stage breakdown.

    .venv/app/bin/python -m bench.turn_latency [--levels 1,5,20] [--seconds 40]
        [--variant NAME:VAR=VALUE,VAR=VALUE ...] [--client-cpus 1] [--server-cpus 0]
        [--service-cpus actions=1 --service-cpus handoff=1]
        [--report reports/perf/turn_latency.json]

Starts the three processes exactly as ``make run`` does (``scripts.run.running_system``) on free
ports with a temporary data directory (demo store seeded, the built KB index), then runs
closed-loop REST shoppers: each one sends a message, waits for the answer, sends the next. Every
shopper goes round a scripted mix of short conversations, Spanish and English alternately:

* ``smalltalk``  "hola" / "gracias"
* ``kb``         a shipping or refund question answered from the knowledge base
* ``order``      "where is my order AT…?" then the e-mail that verifies it (the answer must name
                 the order)
* ``handoff``    "I want a person" (the handoff API queues it) then a message while queued, which
                 the hand-off gate forwards to the agent side instead of Rasa

Every message carries a ``message_id`` (the exactly-once path of the widget and retrying
clients). A turn counts as an error if the HTTP status is not 200 or the answer is not the one
the script expects (e.g. the order not named).

For each load (1, 5, 20 concurrent shoppers) it prints and stores p50/p95/p99 per turn kind,
turns/s and errors, and a per-stage breakdown from the processes' own timings
(``ATIENDE_TIMING_DIR``, see ``timing/``): mean milliseconds per turn spent in the channel + HTTP,
the hand-off gate, the Rasa lock, NLU, the policies, the action-server round trip (and the action
itself), KB search, the store, the handoff API and the tracker store. ``--no-timing`` measures
without the timing wrappers (their own cost is a few microseconds per call).

The load generator pins itself to ``--client-cpus`` and the servers to ``--server-cpus``
(``taskset``), so the shoppers do not steal the servers' CPU. ``--variant`` runs the whole
measurement again with extra environment variables for the servers (e.g. the PostgreSQL tracker
store), in the same run, so variants are compared under the same machine noise.

The shoppers, the scripted conversations and what is measured meanwhile are in
``bench/turn_load.py``; the figures (percentiles, per-stage breakdown) in ``bench/turn_report.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.turn_load import pin, run_level, start_profiles, warm_up
from bench.turn_report import print_level, summarise

ROOT = Path(__file__).resolve().parents[1]
APP_PY = ROOT / ".venv" / "app" / "bin" / "python"


def prepare_data_dir(base: Path) -> Path:
    data = base / "data"
    data.mkdir(parents=True)
    subprocess.run([str(APP_PY), "-m", "actions.store", "seed", "--db", str(data / "store.db")],
                   cwd=ROOT, check=True, capture_output=True, timeout=300)
    return data


def kb_index_dir() -> Path:
    for candidate in (os.environ.get("KB_INDEX_DIR"), ROOT / "var" / "kb_index",
                      ROOT / "var" / "test" / "kb_index"):
        if candidate and (Path(candidate) / "meta.json").exists():
            return Path(candidate)
    raise SystemExit("no KB index built: run `make kb` first")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure_variant(name: str, extra_env: dict[str, str], args: argparse.Namespace
                    ) -> dict[str, Any]:
    from scripts.run import running_system

    base = Path(tempfile.mkdtemp(prefix=f"atiende-bench-{name}-"))
    data = prepare_data_dir(base)
    timing_dir = None if args.no_timing else base / "timings"
    overrides = {
        "ATIENDE_DATA_DIR": str(data), "ATIENDE_ENV": "development",
        "RASA_PORT": str(free_port()), "RASA_ADMIN_PORT": str(free_port()),
        "ACTIONS_PORT": str(free_port()),
        "HANDOFF_PORT": str(free_port()), "MAIL_CATCHER_PORT": str(free_port()),
        "HANDOFF_DATABASE_URL": f"sqlite:///{data / 'handoff.db'}",
        "BUSINESS_HOURS": "mon-sun 00:00-24:00", "KB_INDEX_DIR": str(kb_index_dir()),
        # the benchmark's shoppers are polite (one message at a time); the per-sender flood
        # guard stays on with its defaults
        **({"ATIENDE_TIMING_DIR": str(timing_dir)} if timing_dir else {}),
        **extra_env,
    }
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, _cpus(args.server_cpus))  # the children inherit it
    # scripts.settings passes only known prefixes from its overrides to the children; the
    # children inherit the environment, so the timing dir and the variant's settings go there
    saved_env = {k: os.environ.get(k) for k in overrides}
    os.environ.update(overrides)
    summary: dict[str, Any] = {"variant": name, "env": extra_env, "levels": []}
    try:
        with running_system(overrides) as system:
            for service in system.services:
                if service.process is not None:
                    pin(service.process.pid, args.service_cpus.get(service.name,
                                                                   args.server_cpus))
            os.sched_setaffinity(0, _cpus(args.client_cpus))
            url = f"{system.settings.rasa_url}/webhooks/rest/webhook"
            # every script once first: lazily loaded parts (KB index, encoders) are not measured
            asyncio.run(warm_up(url))
            pids = {s.name: s.process.pid for s in system.services
                    if s.process is not None and s.name in ("rasa", "actions", "handoff")}
            for shoppers in args.levels:
                profiles: list[subprocess.Popen] = []

                def profile(shoppers: int = shoppers,
                            profiles: list[subprocess.Popen] = profiles) -> None:
                    profiles.extend(start_profiles(args.py_spy, pids, args.seconds * 0.9,
                                                   args.profile_dir, f"{name}-{shoppers}"))

                level = asyncio.run(run_level(url, shoppers, args.seconds, args.warmup_seconds,
                                              timing_dir, profile, pids))
                for p in profiles:
                    p.wait(60)
                s = summarise(level)
                s["load_avg_after"] = os.getloadavg()  # other work on the machine: say it
                print_level(name, s)
                summary["levels"].append(s)
    finally:
        os.sched_setaffinity(0, before)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
        else:
            print(f"kept {base}")
    return summary


def _cpus(spec: str) -> set[int]:
    out: set[int] = set()
    for part in spec.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            out.update(range(int(lo), int(hi) + 1))
        elif part:
            out.add(int(part))
    return out


def parse_variant(spec: str) -> tuple[str, dict[str, str]]:
    name, _, rest = spec.partition(":")
    env = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        env[key.strip()] = value.strip()
    return name, env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="1,5,20",
                        type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--seconds", type=float, default=40.0, help="measured time per level")
    parser.add_argument("--warmup-seconds", type=float, default=8.0)
    parser.add_argument("--variant", action="append", default=[],
                        help="NAME:VAR=VALUE,... (repeatable; default: one variant 'default')")
    parser.add_argument("--client-cpus", default="1")
    parser.add_argument("--server-cpus", default="0")
    parser.add_argument("--service-cpus", action="append", default=[], metavar="NAME=CPUS",
                        type=lambda s: tuple(s.split("=", 1)),
                        help="pin one server process elsewhere than --server-cpus, e.g. "
                             "actions=1 (repeatable; names: rasa, actions, handoff)")
    parser.add_argument("--no-timing", action="store_true",
                        help="measure without the per-stage timing wrappers")
    parser.add_argument("--py-spy", default=None,
                        help="path of py-spy: profile the servers during each level")
    parser.add_argument("--profile-dir", type=Path, default=Path("results/perf"),
                        help="where py-spy's raw stacks go")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    parser.add_argument("--report", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()
    args.service_cpus = dict(args.service_cpus)
    variants = [parse_variant(v) for v in args.variant] or [("default", {})]
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_avg_at_start": os.getloadavg()},
        "client_cpus": args.client_cpus, "server_cpus": args.server_cpus,
        **({"service_cpus": args.service_cpus} if args.service_cpus else {}),
        "seconds_per_level": args.seconds, "timing": not args.no_timing,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "variants": [],
    }
    for name, env in variants:
        report["variants"].append(measure_variant(name, env, args))
        if args.report:  # after each variant: a later one that fails does not lose this one
            args.report.parent.mkdir(parents=True, exist_ok=True)
            args.report.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
            print(f"\nwritten {args.report}")


if __name__ == "__main__":
    main()
