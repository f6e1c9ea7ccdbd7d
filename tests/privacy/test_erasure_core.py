"""The retention/erasure core without any database: subjects, the store registry (a store added
later is used by both), a broken store reported instead of hiding the others, the audit line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from privacy import stores
from privacy.erasure import PrivacySettings, erase, run_retention
from privacy.subject import Subject, normalise_phone


@pytest.mark.parametrize("raw", ["+34 655 908 172", "655908172", "0034655908172", "34655908172",
                                 "(+34) 655-90-81-72"])
def test_phones_are_compared_in_one_form(raw: str) -> None:
    assert normalise_phone(raw) == "34655908172"


def test_a_subject_is_found_in_any_formatting() -> None:
    subject = Subject.build(emails=["Carmen.Navarro@Example.com"], phones=["+34 655 908 172"])
    assert subject.mentioned_in("escribid a carmen.navarro@example.com")
    assert subject.mentioned_in("llamadme al 655 90 81 72")
    assert subject.mentioned_in('{"sender_id": "34655908172"}')
    assert not subject.mentioned_in("pedido AT101001, 655,90 €, tel 612 345 678")
    with pytest.raises(ValueError, match="at least one"):
        Subject.build()
    with pytest.raises(ValueError, match="phone"):
        Subject.build(phones=["12"])


class MemoryStore:
    """A store added by a later feature (e.g. a CRM export), registered like the built-in ones."""

    name = "memory"

    def __init__(self) -> None:
        self.rows = [{"cid": "web-1", "text": "soy ana@example.com", "ts": 1.0},
                     {"cid": "web-2", "text": "hola", "ts": 9e9}]

    def find_conversations(self, subject: Subject) -> set[str]:
        return {r["cid"] for r in self.rows if subject.mentioned_in(r["text"])}

    def erase(self, subject: Subject) -> int:
        before = len(self.rows)
        self.rows = [r for r in self.rows if r["cid"] not in subject.conversation_ids]
        return before - len(self.rows)

    def purge(self, cutoff: float) -> int:
        before = len(self.rows)
        self.rows = [r for r in self.rows if r["ts"] >= cutoff]
        return before - len(self.rows)

    def traces(self, subject: Subject) -> int:
        return sum(r["cid"] in subject.conversation_ids or subject.mentioned_in(r["text"])
                   for r in self.rows)


class BrokenStore(MemoryStore):
    name = "broken"

    def erase(self, subject: Subject) -> int:
        raise ConnectionError("database down")


@pytest.fixture
def settings(tmp_path: Path) -> PrivacySettings:
    return PrivacySettings.from_env({"ATIENDE_DATA_DIR": str(tmp_path),
                                     "ATIENDE_TRACKER_URL": f"sqlite:///{tmp_path}/none.db"})


def test_registered_stores_take_part_in_erasure_and_retention(settings, monkeypatch) -> None:
    memory = MemoryStore()
    monkeypatch.setitem(stores._FACTORIES, "memory", lambda ctx: memory)
    report = erase(settings, Subject.build(emails=["ana@example.com"]), by="test")
    assert report.complete and report.deleted["memory"] == 1 and report.conversations == 1
    memory.rows.append({"cid": "web-3", "text": "x", "ts": 1.0})
    retention = run_retention(settings, by="test", days=30)
    assert retention.deleted["memory"] == 1 and [r["cid"] for r in memory.rows] == ["web-2"]


def test_a_broken_store_is_reported_and_the_others_still_run(settings, monkeypatch) -> None:
    memory, broken = MemoryStore(), BrokenStore()
    monkeypatch.setitem(stores._FACTORIES, "memory", lambda ctx: memory)
    report = erase(settings, Subject.build(emails=["ana@example.com"]), by="test",
                   extra_stores=[broken])
    assert not report.complete and report.errors == {"broken": "erase: ConnectionError"}
    assert report.deleted["memory"] == 1


def test_the_audit_line_has_who_and_when_but_not_whom(settings, monkeypatch) -> None:
    monkeypatch.setitem(stores._FACTORIES, "memory", lambda ctx: MemoryStore())
    erase(settings, Subject.build(emails=["ana@example.com"], phones=["+34 612 345 678"]),
          by="agent:sara#1")
    erase(settings, Subject.build(emails=["ana@example.com"]), by="agent:sara#1", dry_run=True)
    lines = (settings.data_dir / "privacy_audit.jsonl").read_text().splitlines()
    assert len(lines) == 1  # a dry run is not an erasure
    audit = json.loads(lines[0])
    assert audit["by"] == "agent:sara#1" and audit["at"] and audit["identifiers"] == [
        "email", "phone"]
    assert "ana@example.com" not in lines[0] and "612" not in lines[0]
    same = Subject.build(emails=["ANA@example.com"], phones=["612345678"])
    assert audit["subject"] == same.fingerprint((settings.data_dir / "privacy.key").read_bytes()
                                                .strip())


def test_settings_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="ATIENDE_RETENTION_DAYS"):
        PrivacySettings.from_env({"ATIENDE_RETENTION_DAYS": "-1"})
    with pytest.raises(ValueError, match="ATIENDE_RETENTION_DAYS"):
        PrivacySettings.from_env({"ATIENDE_RETENTION_DAYS": "many"})
    assert PrivacySettings.from_env({"ATIENDE_RETENTION_DAYS": "0"}).retention_days == 0
