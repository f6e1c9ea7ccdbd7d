"""The launcher refuses to start with a clear message instead of a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from scripts import prepare, run, settings


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("RASA_PORT", "ACTIONS_PORT", "HANDOFF_PORT", "RASA_TOKEN", "HANDOFF_BOT_TOKEN",
                "HANDOFF_SECRET_KEY", "HANDOFF_DATABASE_URL", "STORE_DATABASE", "KB_INDEX_DIR"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path / "data"


def test_defaults_are_embedded_and_secrets_persist(data_dir: Path) -> None:
    first = settings.load({"ATIENDE_DATA_DIR": str(data_dir)})
    assert first.env["HANDOFF_DATABASE_URL"] == f"sqlite:///{data_dir / 'handoff.db'}"
    assert first.env["RASA_TRACKER_DB"] == str(data_dir / "rasa_tracker.db")
    assert (first.rasa_port, first.actions_port, first.handoff_port) == (5005, 5055, 8000)
    again = settings.load({"ATIENDE_DATA_DIR": str(data_dir)})
    assert again.env["RASA_TOKEN"] == first.env["RASA_TOKEN"] and len(first.env["RASA_TOKEN"]) > 30


def test_store_platform_settings_reach_the_action_server(data_dir: Path) -> None:
    loaded = settings.load({"ATIENDE_DATA_DIR": str(data_dir), "STORE_BACKEND": "shopify",
                            "SHOPIFY_SHOP": "mitienda.myshopify.com", "WOOCOMMERCE_URL": "x",
                            "TIENDANUBE_STORE_ID": "1"})
    assert loaded.env["STORE_BACKEND"] == "shopify"
    assert loaded.env["SHOPIFY_SHOP"] == "mitienda.myshopify.com"
    assert loaded.env["WOOCOMMERCE_URL"] == "x" and loaded.env["TIENDANUBE_STORE_ID"] == "1"


def test_bad_port_is_a_clear_error(data_dir: Path) -> None:
    with pytest.raises(SystemExit, match="RASA_PORT='fifty' is not a port number"):
        settings.load({"ATIENDE_DATA_DIR": str(data_dir), "RASA_PORT": "fifty"})


def test_port_already_taken_is_reported_by_name(data_dir: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run, "model_problem", lambda: None)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        s = settings.load({"ATIENDE_DATA_DIR": str(data_dir), "HANDOFF_PORT": str(port)})
        with pytest.raises(SystemExit) as exc:
            run.preflight(s, run.build_services(s))
    assert f"port {port} (HANDOFF_PORT, handoff) is already in use" in str(exc.value)


def test_corrupt_model_is_reported(tmp_path: Path) -> None:
    model = tmp_path / "atiende.tar.gz"
    model.write_bytes(b"\x1f\x8b this is not a model")
    assert "is corrupt" in (prepare.model_problem(model) or "")
    with tarfile.open(model, "w:gz") as archive:
        readme = tmp_path / "x.txt"
        readme.write_text("x")
        archive.add(readme, arcname="x.txt")
    assert "not a Rasa model" in (prepare.model_problem(model) or "")
    assert "does not exist" in (prepare.model_problem(tmp_path / "none.tar.gz") or "")


def test_training_hash_follows_the_training_inputs(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data" / "nlu").mkdir(parents=True)
    (tmp_path / "config.yml").write_text("pipeline: []")
    nlu = tmp_path / "data" / "nlu" / "a.yml"
    nlu.write_text("nlu: []")
    monkeypatch.setattr(prepare, "ROOT", tmp_path)
    first = prepare.training_hash()
    assert prepare.training_hash() == first
    nlu.write_text("nlu: [changed]")
    assert prepare.training_hash() != first


def test_missing_python310_gives_instructions(tmp_path: Path) -> None:
    """bootstrap.sh without any Python 3.10 says how to get one."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    for tool in ("bash", "cat", "sha256sum", "cut", "ls", "sort", "dirname", "mkdir", "printf"):
        real = subprocess.run(["bash", "-c", f"command -v {tool}"], capture_output=True, text=True)
        if real.stdout.strip():
            (fake_bin / tool).symlink_to(real.stdout.strip())
    result = subprocess.run(["bash", str(settings.ROOT / "scripts/bootstrap.sh"), "bot"],
                            env={"PATH": str(fake_bin), "HOME": str(tmp_path)},
                            capture_output=True, text=True, cwd=settings.ROOT)
    assert result.returncode == 1
    assert "Python 3.10 was not found" in result.stderr and "pyenv install 3.10" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert sys.version_info >= (3, 10)
