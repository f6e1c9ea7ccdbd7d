"""Turns/s and turn latency through the cluster's balancer with 2 and with 1 Rasa replica.

    .venv/app/bin/python -m bench.cluster_throughput [--sequence 2,1,2] [--shoppers 1,5]
        [--seconds 40] [--client-cpus 1] [--server-cpus 0-1] [--db-prefix atiende_bench]
        [--report reports/perf/cluster_throughput.json]

Starts the cluster of ``make cluster`` (scripts/cluster.py: HAProxy, 2 Rasa servers, 2 action
servers, 2 handoff API processes on PostgreSQL + Redis) on free ports with databases of its own
(dropped at the end), and drives it with the closed-loop REST shoppers of
``bench/turn_load.py`` (the same scripted mix: small talk, KB, order status with
verification, handoff) through the balancer. ``--sequence`` says how many Rasa replicas serve
each round, in one run and on one cluster, so both variants see the same machine: a round with
1 replica stops ``rasa-2`` (HAProxy's health check takes it out) and a later round with 2 starts
it again. Action servers and handoff API processes stay 2 throughout.

The shoppers pin themselves to ``--client-cpus`` and the servers to ``--server-cpus``
(``taskset``). On a 2-core machine the two cannot be fully apart when the servers need both cores
(two Rasa replicas on one core measure nothing): the default gives the servers both cores and
the shoppers one of them — say so with the figures. The load average is printed and stored
before and after each round: other work on the machine is part of every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.turn_latency import _cpus
from bench.turn_load import pin, run_level, warm_up
from bench.turn_report import print_level, summarise

OVERRIDES = {  # shoppers ask for a person at any hour; the order script needs the demo store
    "BUSINESS_HOURS": "mon-sun 00:00-24:00", "ATIENDE_ENV": "development"}


def free_base() -> int:
    """A base port whose block (base .. base+49) is free, as tests/cluster picks one."""
    import socket

    for base in range(23000, 60000, 97):
        try:
            for port in range(base, base + 50):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise SystemExit("no free block of 50 ports")


def pin_servers(cluster: Any, cpus: str) -> dict[str, int]:
    pids = {}
    for name, service in cluster.services.items():
        if service.process is not None and service.process.poll() is None:
            pin(service.process.pid, cpus)
            pids[name] = service.process.pid
    if cluster.balancer is not None:
        pin(cluster.balancer.pid, cpus)
    return pids


def set_rasa_replicas(cluster: Any, wanted: int) -> None:
    """Stop or start ``rasa-2``; wait until HAProxy's checks agree."""
    service = cluster.services["rasa-2"]
    running = service.process is not None and service.process.poll() is None
    if wanted == 1 and running:
        service.stop()
    elif wanted == 2 and not running:
        cluster.start("rasa-2")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        up = [k for k, row in cluster.stats().items() if row.get("pxname") == "rasa"
              and row.get("svname", "").startswith("rasa") and row.get("status") == "UP"]
        if len(up) == wanted:
            return
        time.sleep(0.5)
    raise RuntimeError(f"HAProxy does not see {wanted} Rasa replica(s) up")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from scripts.cluster import Plan, running_cluster

    base = Path(tempfile.mkdtemp(prefix="atiende-cluster-bench-"))
    plan = Plan(free_base(), base / "cluster", name=f"{args.db_prefix}_{uuid.uuid4().hex[:6]}",
                redis_db=args.redis_db)
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "client_cpus": args.client_cpus, "server_cpus": args.server_cpus,
        "seconds_per_level": args.seconds, "sequence": args.sequence,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "rounds": []}
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, _cpus(args.server_cpus))  # the cluster's processes inherit it
    try:
        with running_cluster(plan, fresh=True, drop=True, overrides=OVERRIDES) as cluster:
            os.sched_setaffinity(0, _cpus(args.client_cpus))
            url = f"{cluster.rasa_url}/webhooks/rest/webhook"
            for replicas in args.sequence:
                os.sched_setaffinity(0, _cpus(args.server_cpus))  # a restarted rasa-2 too
                set_rasa_replicas(cluster, replicas)
                pids = pin_servers(cluster, args.server_cpus)
                os.sched_setaffinity(0, _cpus(args.client_cpus))
                asyncio.run(warm_up(url))
                round_: dict[str, Any] = {"rasa_replicas": replicas, "levels": []}
                for shoppers in args.shoppers:
                    load_before = os.getloadavg()
                    level = asyncio.run(run_level(url, shoppers, args.seconds,
                                                  args.warmup_seconds, None, None, pids))
                    s = summarise(level)
                    s["load_avg_before"], s["load_avg_after"] = load_before, os.getloadavg()
                    print_level(f"{replicas} rasa", s)
                    print(f"    load average before {load_before[0]:.1f}, after "
                          f"{s['load_avg_after'][0]:.1f}")
                    round_["levels"].append(s)
                report["rounds"].append(round_)
                if args.report:
                    args.report.parent.mkdir(parents=True, exist_ok=True)
                    args.report.write_text(json.dumps(report, indent=1) + "\n",
                                           encoding="utf-8")
    finally:
        os.sched_setaffinity(0, before)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ints = lambda s: [int(x) for x in s.split(",")]  # noqa: E731
    parser.add_argument("--sequence", type=ints, default=[2, 1],
                        help="Rasa replicas per round, e.g. 2,1,2")
    parser.add_argument("--shoppers", type=ints, default=[1, 5])
    parser.add_argument("--seconds", type=float, default=40.0, help="measured time per level")
    parser.add_argument("--warmup-seconds", type=float, default=8.0)
    parser.add_argument("--client-cpus", default="1")
    parser.add_argument("--server-cpus", default="0-1")
    parser.add_argument("--db-prefix", default="atiende_bench",
                        help="prefix of the two PostgreSQL databases (created, then dropped)")
    parser.add_argument("--redis-db", type=int, default=12)
    parser.add_argument("--report", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()
    if any(n not in (1, 2) for n in args.sequence):
        parser.error("--sequence: 1 or 2 Rasa replicas per round")
    run(args)


if __name__ == "__main__":
    main()
