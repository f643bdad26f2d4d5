"""One worker per printer: takes jobs from the queue, prints, confirms, reports.

Before a job the worker asks the printer's status; a problem (paper out, cover open) holds the
queue and raises one event until it clears. After the bytes went out it asks again: only a
ready printer confirms the job. Anything else — a lost link after some bytes, a status that
does not come, paper that ran out during the job — means the job may have printed partly or
wholly, so it goes again as the marked copy. Each job's outcome goes to ``on_outcome``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import structlog

from contract.mqtt import Event
from drivers.escpos.commands import resync_padding
from drivers.escpos.status import PrinterStatus, StatusError
from drivers.printers.base import (
    LinkLostError,
    PrinterError,
    PrinterTransport,
    PrinterUnavailableError,
    StatusTimeoutError,
)
from gateway.printing.queue import JobState, PrintJob, PrintQueue

log = structlog.get_logger(__name__)

Severity = Literal["info", "warning", "error"]


@dataclass(frozen=True)
class PrintEvent:
    """Something a person must know: ``paper_out``, ``cover_open``, ``printer_error``,
    ``printer_unavailable``, ``printer_ready``, ``job_failed``."""

    kind: str
    printer: str
    job_id: str = ""
    detail: str = ""

    @property
    def severity(self) -> Severity:
        if self.kind == "printer_ready":
            return "info"
        return "error" if self.kind == "job_failed" else "warning"

    def to_mqtt(self, gateway_id: str, ts: datetime) -> Event:
        return Event(
            gateway_id=gateway_id,
            kind=f"printer.{self.kind}",
            ts=ts,
            subject=self.job_id or self.printer,
            severity=self.severity,
            detail={"printer": self.printer, "detail": self.detail},
        )


@dataclass(frozen=True)
class JobOutcome:
    """What became of one attempt: ``printed``, ``requeued`` or ``failed``."""

    job_id: str
    printer: str
    result: Literal["printed", "requeued", "failed"]
    as_copy: bool
    attempts: int
    reason: str = ""
    ref: str = ""

    def to_mqtt(self, gateway_id: str, ts: datetime) -> Event:
        detail: dict[str, Any] = {
            "printer": self.printer,
            "result": self.result,
            "copy": self.as_copy,
            "attempts": self.attempts,
            "reason": self.reason,
            "ref": self.ref,
        }
        severity: Severity = "error" if self.result == "failed" else "info"
        return Event(
            gateway_id=gateway_id,
            kind="print.outcome",
            ts=ts,
            subject=self.job_id,
            severity=severity,
            detail=detail,
        )


def _ignore(_: object) -> None:
    return None


@dataclass
class PrintWorker:
    queue: PrintQueue
    printer: str
    transport: PrinterTransport
    on_event: Callable[[PrintEvent], None] = field(default=_ignore)
    on_outcome: Callable[[JobOutcome], None] = field(default=_ignore)
    poll_s: float = 2.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    problem: str = ""  # the current reason the queue is held ("" = not held)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def wake(self) -> None:
        """A job was submitted: look now rather than at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            progressed = await self.step()
            if progressed:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_s):
                    stop_wait = asyncio.ensure_future(stop.wait())
                    wake_wait = asyncio.ensure_future(self._wake.wait())
                    try:
                        await asyncio.wait(
                            {stop_wait, wake_wait}, return_when=asyncio.FIRST_COMPLETED
                        )
                    finally:
                        stop_wait.cancel()
                        wake_wait.cancel()

    async def drain(self) -> None:
        """Print until the queue is empty or held (tests and one-shot CLI use)."""
        while await self.step():
            pass

    def _hold(self, problem: str, job: PrintJob | None) -> None:
        if problem != self.problem:
            self.problem = problem
            log.warning("print.held", printer=self.printer, problem=problem)
            self.on_event(PrintEvent(problem, self.printer, job.id if job else ""))

    def _release(self) -> None:
        if self.problem:
            log.info("print.ready", printer=self.printer, after=self.problem)
            self.problem = ""
            self.on_event(PrintEvent("printer_ready", self.printer))

    async def _status(self) -> PrinterStatus | None:
        """The printer's status; None when it cannot tell (write-only BLE printers)."""
        try:
            return await self.transport.read_status()
        except PrinterError as exc:
            if exc.kind == "no_status":
                return None
            raise

    def _report(self, job: PrintJob, result: Literal["printed", "requeued", "failed"]) -> None:
        outcome = JobOutcome(
            job.id, self.printer, result, job.as_copy, job.attempts, job.reason, job.ref
        )
        log.info("print.outcome", job=job.id, result=result, copy=job.as_copy, reason=job.reason)
        self.on_outcome(outcome)
        if result == "failed":
            self.on_event(PrintEvent("job_failed", self.printer, job.id, job.reason))

    def _requeued(self, job_id: str, *, maybe_printed: bool, reason: str) -> None:
        job = self.queue.requeue(job_id, maybe_printed=maybe_printed, reason=reason)
        self._report(job, "failed" if job.state is JobState.FAILED else "requeued")

    async def step(self) -> bool:
        """Try the next job once; True when the queue moved (printed, requeued or failed)."""
        job = self.queue.next_job(self.printer)
        if job is None:
            return False
        try:
            before = await self._status()
        except (PrinterError, StatusError) as exc:
            self._hold("printer_unavailable", job)
            log.info("print.unreachable", printer=self.printer, error=str(exc))
            await self.transport.close()
            return False
        if before is not None and not before.ready:
            self._hold(before.problem(), job)
            return False
        self._release()
        payload = job.payload
        if job.as_copy and job.attempts > 0:
            # an earlier attempt may have stopped mid-command: pad the printer back in step
            payload = bytes(resync_padding(job.data)) + payload
        job = self.queue.mark_sending(job.id)
        try:
            await self.transport.write(payload)
        except LinkLostError as exc:
            await self.transport.close()
            maybe = exc.sent > 0 or not exc.certain
            self._requeued(job.id, maybe_printed=maybe, reason="link_lost")
            return True
        except PrinterUnavailableError:
            await self.transport.close()
            self._requeued(job.id, maybe_printed=False, reason="printer_unavailable")
            self._hold("printer_unavailable", job)
            return False
        try:
            after = await self._status()
        except (LinkLostError, StatusTimeoutError, StatusError, PrinterUnavailableError) as exc:
            await self.transport.close()
            self._requeued(
                job.id, maybe_printed=True, reason=f"unconfirmed: {exc.__class__.__name__}"
            )
            return True
        if after is not None and not after.ready:
            self._requeued(job.id, maybe_printed=True, reason=after.problem())
            self._hold(after.problem(), job)
            return True
        self._report(self.queue.mark_printed(job.id), "printed")
        return True


def utcnow() -> datetime:
    return datetime.now(UTC)
