"""Atiende as a small cluster on one machine: two of each process behind HAProxy.

``make cluster`` (``python -m scripts.cluster``) starts

* 2 Rasa servers, 2 action servers and 2 handoff API processes, each on its own port;
* HAProxy (Debian's package; its rules: ``scripts/haproxy.py``) in front of them: one address
  for Rasa's webhooks (REST, WhatsApp, Messenger, the hand-back: round robin; socket.io: sticky by
  client address, as the long-polling transport needs), one for the handoff API (console, widget,
  store webhooks: round robin), one for the action servers (what both Rasa servers call: round
  robin), and a statistics page;
* on the shared services of the machine: PostgreSQL for the handoff database (migrated under an
  advisory lock, so two replicas starting together never run a migration twice), Rasa's tracker
  store, the bot's ledger (exactly-once claims, the Meta inbox), the bot's relay outbox (items
  leased, so any Rasa replica delivers each one once) and the Meta channel state (de-duplication,
  24-hour window, delivery statuses, numbered menus); Redis for Rasa's lock store,
  socket.io room emits across Rasa processes, live console/widget events across handoff API
  processes and the public rate limits.

What stays a file in the shared data directory (fine for replicas on one host or a shared volume,
not for separate hosts yet): the demo store's SQLite database and the KB index (read-only).

Tests use :func:`running_cluster` (``tests/cluster``), which gives every run its own databases,
Redis database number and ports, and drops the databases afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from scripts import settings as cfg
from scripts.haproxy import HAPROXY, haproxy_config
from scripts.run import Service, log, port_free, wait_healthy

PG_DSN = os.environ.get("ATIENDE_CLUSTER_PG", "postgresql://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("ATIENDE_CLUSTER_REDIS", "redis://127.0.0.1:6379")
KINDS = ("handoff", "actions", "rasa")


@dataclass
class Plan:
    """Ports, databases and data directory of one cluster."""

    base_port: int
    data_dir: Path
    name: str = "atiende_cluster"   # prefix of the two PostgreSQL databases
    redis_db: int = 5
    replicas: int = 2

    # the balancer's addresses
    @property
    def rasa_port(self) -> int:
        return self.base_port

    @property
    def handoff_port(self) -> int:
        return self.base_port + 1

    @property
    def actions_port(self) -> int:
        return self.base_port + 2

    @property
    def stats_port(self) -> int:
        return self.base_port + 3

    def replica_port(self, kind: str, index: int) -> int:
        """Replica ``index`` (1-based) of ``kind``; Rasa's HTTP API is on the next port."""
        offset = {"rasa": 10, "handoff": 30, "actions": 40}[kind]
        return self.base_port + offset + 2 * (index - 1)

    def pg_url(self, purpose: str) -> str:
        """SQLAlchemy URL of one database (psycopg2: SQLAlchemy 2.1 defaults to psycopg 3)."""
        base = PG_DSN.replace("postgresql://", "postgresql+psycopg2://", 1)
        return f"{base}/{self.name}_{purpose}"

    @property
    def redis(self) -> str:
        return f"{REDIS_URL}/{self.redis_db}"

    def url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}"


@dataclass
class Cluster:
    plan: Plan
    services: dict[str, Service] = field(default_factory=dict)
    balancer: subprocess.Popen | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def rasa_url(self) -> str:
        return self.plan.url(self.plan.rasa_port)

    @property
    def handoff_url(self) -> str:
        return self.plan.url(self.plan.handoff_port)

    def replica_url(self, kind: str, index: int) -> str:
        return self.plan.url(self.plan.replica_port(kind, index))

    def admin_url(self, index: int) -> str:
        """Rasa's HTTP API of Rasa replica ``index`` (token: ``env['RASA_TOKEN']``)."""
        return self.plan.url(self.plan.replica_port("rasa", index) + 1)

    def kill(self, name: str) -> None:
        """``kill -9`` one replica (``rasa-1``, ``handoff-2`` …) and its children."""
        process = self.services[name].process
        assert process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def start(self, name: str) -> None:
        service = self.services[name]
        service.stop()
        service.start(service_env(self.env, service))
        wait_healthy([service])

    def stats(self) -> dict[str, dict[str, str]]:
        """HAProxy's counters per ``backend/server`` (``stot``: sessions served, ``status``)."""
        with urllib.request.urlopen(f"{self.plan.url(self.plan.stats_port)}/stats;csv",
                                    timeout=5) as r:
            lines = r.read().decode().splitlines()
        header = lines[0].lstrip("# ").split(",")
        rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]
        return {f"{row['pxname']}/{row['svname']}": row for row in rows}

    def stop(self) -> None:
        for service in reversed(list(self.services.values())):
            service.stop()
        if self.balancer is not None and self.balancer.poll() is None:
            self.balancer.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.balancer.wait(10)


#: container ports of deploy/compose.yml (every replica on its own host name)
def prepare_databases(plan: Plan, *, fresh: bool) -> None:
    """Create the two PostgreSQL databases (dropped first when ``fresh``) and empty the Redis
    database number of a fresh cluster."""
    import psycopg2
    import redis

    conn = psycopg2.connect(f"{PG_DSN}/postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for purpose in ("handoff", "rasa"):
                db = f"{plan.name}_{purpose}"
                if fresh:
                    cur.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,))
                if cur.fetchone() is None:
                    cur.execute(f'CREATE DATABASE "{db}"')
    finally:
        conn.close()
    if fresh:
        redis.Redis.from_url(plan.redis).flushdb()


def drop_databases(plan: Plan) -> None:
    import psycopg2
    import redis

    conn = psycopg2.connect(f"{PG_DSN}/postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for purpose in ("handoff", "rasa"):
                cur.execute(f'DROP DATABASE IF EXISTS "{plan.name}_{purpose}" WITH (FORCE)')
    finally:
        conn.close()
    with contextlib.suppress(Exception):
        redis.Redis.from_url(plan.redis).flushdb()


def cluster_env(plan: Plan, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """What every process of the cluster shares: the secrets, the balancer's addresses as the
    services' URLs, PostgreSQL and Redis."""
    redis_host, _, redis_port = REDIS_URL.removeprefix("redis://").partition(":")
    pg = PG_DSN.removeprefix("postgresql://")
    pg_user, _, pg_hostport = pg.rpartition("@")
    pg_host, _, pg_port = pg_hostport.partition(":")
    values = {
        "ATIENDE_DATA_DIR": str(plan.data_dir),
        # the single-process defaults below are replaced per replica (service_env)
        "RASA_PORT": str(plan.rasa_port),
        "HANDOFF_PORT": str(plan.handoff_port),
        "ACTIONS_PORT": str(plan.actions_port),
        "RASA_ADMIN_PORT": "0",
        # every process reaches the others through the balancer
        "RASA_URL": plan.url(plan.rasa_port),
        "HANDOFF_API_URL": plan.url(plan.handoff_port),
        "ACTION_SERVER_URL": f"{plan.url(plan.actions_port)}/webhook",
        "ATIENDE_CORS_ORIGINS": f"{plan.url(plan.handoff_port)},"
                                f"http://localhost:{plan.handoff_port}",
        # shared state
        "HANDOFF_DATABASE_URL": plan.pg_url("handoff"),
        "ATIENDE_LEDGER_URL": plan.pg_url("rasa"),
        # the relay outbox (items leased: any Rasa replica delivers them) and the Meta channel
        # state (de-duplication, 24-hour window, numbered menus): tables next to the ledger's
        "ATIENDE_OUTBOX_URL": plan.pg_url("rasa"),
        "ATIENDE_CHANNEL_STATE_URL": plan.pg_url("rasa"),
        "HANDOFF_BROKER_URL": plan.redis,
        "HANDOFF_RATE_LIMIT_STORAGE": plan.redis,
        "RASA_ENDPOINTS": str(cfg.ROOT / "bot" / "endpoints.production.yml"),
        "RASA_CREDENTIALS": str(cfg.ROOT / "bot" / "credentials.cluster.yml"),
        "SOCKETIO_REDIS_URL": plan.redis,
        "RASA_DB_HOST": pg_host or "127.0.0.1", "RASA_DB_PORT": pg_port or "5432",
        "RASA_DB_NAME": f"{plan.name}_rasa", "RASA_DB_USER": pg_user or "postgres",
        "RASA_DB_PASSWORD": "",
        "REDIS_HOST": redis_host or "127.0.0.1", "REDIS_PORT": redis_port or "6379",
        "REDIS_DB": str(plan.redis_db),
    }
    if not os.environ.get("KB_INDEX_DIR"):  # the index `make kb` (or `make test`) built
        built = [Path(os.environ.get("ATIENDE_DATA_DIR", "var")) / "kb_index",
                 cfg.ROOT / "var" / "kb_index"]
        found = [d for d in built if d.is_dir()]
        if found:
            values["KB_INDEX_DIR"] = str(found[0].resolve())
    values.update(overrides or {})
    settings = cfg.load(values)
    env = settings.child_env()
    env.update(values)
    # one privacy key for all replicas: pseudonyms must agree whichever process wrote them
    key_file = plan.data_dir / "privacy.key"
    if "ATIENDE_PRIVACY_KEY" not in env:
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(32), encoding="utf-8")
            key_file.chmod(0o600)
        env["ATIENDE_PRIVACY_KEY"] = key_file.read_text(encoding="utf-8").strip()
    return env


def build_services(plan: Plan) -> dict[str, Service]:
    logs = plan.data_dir / "logs"
    services = {}
    for index in range(1, plan.replicas + 1):
        for kind in KINDS:
            port = plan.replica_port(kind, index)
            name = f"{kind}-{index}"
            cmd = {"rasa": [str(cfg.BOT_PY), "-m", "bot.serve"],
                   "actions": [str(cfg.APP_PY), "-m", "actions", "--port", str(port)],
                   "handoff": [str(cfg.APP_PY), "-m", "handoff_api", "serve"]}[kind]
            port_var = {"rasa": "RASA_PORT", "actions": "ACTIONS_PORT",
                        "handoff": "HANDOFF_PORT"}[kind]
            withheld = {"rasa": ("HANDOFF_SECRET_KEY",),
                        "actions": ("RASA_TOKEN", "HANDOFF_SECRET_KEY"),
                        "handoff": ("RASA_TOKEN",)}[kind]
            services[name] = Service(name, cmd, f"http://127.0.0.1:{port}/health", port,
                                     port_var, 600 if kind == "rasa" else 120,
                                     logs / f"{name}.log", withheld=withheld)
    return services


def service_env(env: dict[str, str], service: Service) -> dict[str, str]:
    """The shared environment with this replica's own port (and, for Rasa, its HTTP API port)."""
    own = dict(env)
    own[service.port_var] = str(service.port)
    if service.name.startswith("rasa"):
        own["RASA_ADMIN_PORT"] = str(service.port + 1)
    return own


def seed(env: dict[str, str]) -> None:
    """The demo store (SQLite, shared by the action servers) and the demo agents in PostgreSQL."""
    if not Path(env["STORE_DATABASE"]).exists():
        subprocess.run([str(cfg.APP_PY), "-m", "actions.store", "seed", "--db",
                        env["STORE_DATABASE"]], env=env, cwd=cfg.ROOT, check=True)
    subprocess.run([str(cfg.APP_PY), "-m", "handoff_api", "seed-demo"], env=env, cwd=cfg.ROOT,
                   check=True, stdout=subprocess.DEVNULL)


@contextlib.contextmanager
def running_cluster(plan: Plan, *, fresh: bool = True, drop: bool = False,
                    overrides: dict[str, str] | None = None) -> Iterator[Cluster]:
    """Start the whole cluster, wait for every replica and the balancer, yield, stop everything
    (and drop the databases when ``drop``)."""
    problems = [f"port {p} is in use" for p in
                [plan.rasa_port, plan.handoff_port, plan.actions_port, plan.stats_port]
                + [plan.replica_port(k, i) + d for k in KINDS
                   for i in range(1, plan.replicas + 1) for d in (0, 1)]
                if not port_free("127.0.0.1", p)]
    if not Path(HAPROXY).exists():
        problems.append(f"HAProxy is not installed ({HAPROXY}): apt-get install -y haproxy")
    if problems:
        raise SystemExit("the cluster cannot start:\n  - " + "\n  - ".join(problems))
    plan.data_dir.mkdir(parents=True, exist_ok=True)
    (plan.data_dir / "logs").mkdir(exist_ok=True)
    prepare_databases(plan, fresh=fresh)
    cluster = Cluster(plan, build_services(plan), env=cluster_env(plan, overrides))
    try:
        seed(cluster.env)
        config = plan.data_dir / "haproxy.cfg"
        config.write_text(haproxy_config(plan), encoding="utf-8")
        cluster.balancer = subprocess.Popen(
            [HAPROXY, "-f", str(config), "-db"], stdout=open(plan.data_dir / "logs" / "haproxy.log",  # noqa: SIM115
                                                              "ab"),
            stderr=subprocess.STDOUT, start_new_session=True)
        for service in cluster.services.values():
            service.start(service_env(cluster.env, service))
        wait_healthy(list(cluster.services.values()))
        _wait_balanced(cluster)
        yield cluster
    finally:
        cluster.stop()
        if drop:
            drop_databases(plan)


def _wait_balanced(cluster: Cluster, timeout: float = 180) -> None:
    """Until HAProxy's checks see every replica up."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError):
            stats = cluster.stats()
            up = [k for k, row in stats.items() if row.get("status") == "UP"
                  and row.get("svname") not in ("FRONTEND", "BACKEND")
                  and row.get("pxname") in KINDS]
            if len(up) == 3 * cluster.plan.replicas:
                return
        if time.monotonic() > deadline:
            log_path = cluster.plan.data_dir / "logs" / "haproxy.log"
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
            raise RuntimeError(f"HAProxy does not see every replica up ({log_path}):\n{tail}")
        time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.cluster", description=__doc__.split(
        "\n\n")[0])
    parser.add_argument("--base-port", type=int, default=int(os.environ.get(
        "ATIENDE_CLUSTER_PORT", "9000")))
    parser.add_argument("--data-dir", type=Path, default=cfg.ROOT / "var" / "cluster")
    parser.add_argument("--fresh", action="store_true",
                        help="drop the cluster's databases and Redis data first")
    parser.add_argument("--print-haproxy", action="store_true",
                        help="print the balancer's configuration and exit")
    parser.add_argument("--compose", action="store_true",
                        help="with --print-haproxy: for deploy/compose.yml's service names")
    args = parser.parse_args(argv)
    plan = Plan(args.base_port, args.data_dir.resolve())
    if args.print_haproxy:
        print(haproxy_config(plan, compose=args.compose), end="")
        return 0
    stop = False

    def on_signal(_signum: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with running_cluster(plan, fresh=args.fresh) as cluster:
        log(f"demo store and widget: {cluster.handoff_url}/  (console: {cluster.handoff_url}"
            "/console/, ana / atiende-demo)")
        log(f"Rasa webhooks: {cluster.rasa_url}  HAProxy statistics: "
            f"{plan.url(plan.stats_port)}/stats")
        log("2 x Rasa, 2 x actions, 2 x handoff API on PostgreSQL + Redis; Ctrl-C stops all")
        while not stop:
            time.sleep(1)
            for service in cluster.services.values():
                if service.process is not None and service.process.poll() is not None:
                    log(f"{service.name} exited ({service.process.returncode}); restarting")
                    cluster.start(service.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
