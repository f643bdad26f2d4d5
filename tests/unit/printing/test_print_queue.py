from pathlib import Path

import pytest

from gateway.printing.queue import JobState, PrintQueue, UnknownJobError


def test_submit_is_idempotent_and_durable(tmp_path: Path) -> None:
    queue = PrintQueue(tmp_path / "q.db")
    assert queue.submit("j1", "p", b"orig", b"copy", kind="receipt", ref="BN-1")
    assert not queue.submit("j1", "p", b"other", b"other")
    queue.close()
    again = PrintQueue(tmp_path / "q.db")
    job = again.get("j1")
    assert job.state is JobState.QUEUED
    assert job.payload == b"orig"
    assert job.ref == "BN-1"


def test_crash_while_sending_turns_the_job_into_a_copy(tmp_path: Path) -> None:
    queue = PrintQueue(tmp_path / "q.db")
    queue.submit("j1", "p", b"orig", b"copy")
    queue.submit("j2", "p", b"orig2", b"copy2")
    queue.mark_sending("j1")
    queue.close()  # the process dies here
    again = PrintQueue(tmp_path / "q.db")
    assert again.recovered == ["j1"]
    job = again.next_job("p")
    assert job is not None
    assert job.id == "j1"
    assert job.as_copy
    assert job.payload == b"copy"
    assert job.reason == "interrupted"
    assert not again.get("j2").as_copy


def test_requeue_keeps_copy_once_set_and_fails_after_max_attempts(tmp_path: Path) -> None:
    queue = PrintQueue(tmp_path / "q.db", max_attempts=2)
    queue.submit("j", "p", b"o", b"c")
    queue.mark_sending("j")
    assert queue.requeue("j", maybe_printed=True, reason="link_lost").as_copy
    queue.mark_sending("j")
    job = queue.requeue("j", maybe_printed=False, reason="printer_unavailable")
    assert job.as_copy
    assert job.state is JobState.FAILED
    assert job.attempts == 2


def test_nothing_sent_stays_original(tmp_path: Path) -> None:
    queue = PrintQueue(tmp_path / "q.db")
    queue.submit("j", "p", b"o", b"c")
    queue.mark_sending("j")
    assert not queue.requeue("j", maybe_printed=False, reason="printer_unavailable").as_copy


def test_reprint_is_a_copy_and_only_for_finished_jobs(tmp_path: Path) -> None:
    queue = PrintQueue(tmp_path / "q.db")
    queue.submit("j", "p", b"o", b"c")
    with pytest.raises(UnknownJobError):
        queue.reprint("j")
    queue.mark_sending("j")
    queue.mark_printed("j")
    queue.reprint("j")
    assert queue.get("j").payload == b"c"
    with pytest.raises(UnknownJobError):
        queue.get("nope")
