"""The cluster's balancer rules (scripts/haproxy.py): the committed deploy/haproxy.cfg is the
generated one, and HAProxy accepts the rules for this machine and for compose."""

from __future__ import annotations

import subprocess
from pathlib import Path

from scripts.cluster import Plan
from scripts.haproxy import HAPROXY, haproxy_config
from scripts.settings import ROOT


def test_the_compose_balancer_file_is_the_tested_rules(tmp_path: Path) -> None:
    """deploy/haproxy.cfg is what scripts/haproxy.py generates for compose's service names (one
    definition of the balancer's rules), and HAProxy accepts both variants."""
    plan = Plan(9000, tmp_path)
    committed = (ROOT / "deploy" / "haproxy.cfg").read_text(encoding="utf-8")
    assert committed == haproxy_config(plan, compose=True), \
        "regenerate: python -m scripts.cluster --print-haproxy --compose > deploy/haproxy.cfg"
    for compose in (False, True):
        path = tmp_path / f"haproxy-{compose}.cfg"
        path.write_text(haproxy_config(plan, compose=compose), encoding="utf-8")
        check = subprocess.run([HAPROXY, "-c", "-f", str(path)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
