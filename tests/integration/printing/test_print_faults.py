"""Fault tests: each ends with the receipt printed once, plus one marked copy where unknown."""

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from drivers.escpos.layout import layout
from drivers.escpos.profile import profile
from drivers.escpos.template import load_template
from drivers.printers.tcp import TcpPrinter
from gateway.printing.queue import JobState, PrintQueue
from gateway.printing.render import render_job
from gateway.printing.worker import JobOutcome, PrintEvent, PrintWorker
from simulators.printer.machine import PrintedJob, PrinterMachine
from simulators.printer.servers import TcpPrinterServer
from tests.support.documents import sample_receipt
from tests.support.printers import WatchedMachine, ble_printer
from tests.support.printout import Expected, assert_printout_shows, expected_output

ROOT = Path(__file__).parents[3]
TEMPLATE = load_template(ROOT / "config" / "templates" / "receipt.toml")
PROFILE = profile("generic-58")
RECEIPT = sample_receipt(Ed25519PrivateKey.from_private_bytes(bytes(32)))
ORIGINAL, COPY = render_job(RECEIPT, TEMPLATE, PROFILE)


def _expected(copy: bool) -> Expected:
    return expected_output(layout(RECEIPT, TEMPLATE, copy=copy), PROFILE, TEMPLATE.sizes)


def _is_copy(job: PrintedJob) -> bool:
    try:
        assert_printout_shows(job, _expected(copy=True))
    except AssertionError:
        assert_printout_shows(job, _expected(copy=False))
        return False
    return True


class Recorder:
    def __init__(self) -> None:
        self.events: list[PrintEvent] = []
        self.outcomes: list[JobOutcome] = []
        self._news = asyncio.Event()  # set whenever an event or outcome arrives

    def _event(self, event: PrintEvent) -> None:
        self.events.append(event)
        self._news.set()

    def _outcome(self, outcome: JobOutcome) -> None:
        self.outcomes.append(outcome)
        self._news.set()

    async def until(self, predicate: Callable[[], bool]) -> None:
        """Wait for the worker to report what makes ``predicate`` true (bounded: 60 s)."""
        async with asyncio.timeout(60):
            while not predicate():
                self._news.clear()
                await self._news.wait()

    def worker(self, queue: PrintQueue, transport: object) -> PrintWorker:
        return PrintWorker(
            queue,
            "counter",
            transport,  # type: ignore[arg-type]
            on_event=self._event,
            on_outcome=self._outcome,
            poll_s=0.05,
        )


def test_paper_out_mid_job_holds_then_prints_one_copy(tmp_path: Path) -> None:
    rec = Recorder()

    async def run() -> None:
        machine = PrinterMachine(384, out_dir=tmp_path / "png", paper_dots=300)
        server = TcpPrinterServer(machine, idle_flush_s=None)
        port = await server.start()
        queue = PrintQueue(tmp_path / "q.db")
        queue.submit("r1", "counter", ORIGINAL, COPY)
        worker = rec.worker(queue, TcpPrinter("127.0.0.1", port))
        await worker.drain()
        assert worker.problem == "paper_out"
        assert [e.kind for e in rec.events] == ["paper_out"]
        await worker.drain()  # still out: nothing happens, no second event
        assert len(rec.events) == 1
        machine.load_paper()
        await worker.drain()
        await worker.transport.close()
        await server.stop()
        machine.flush()
        assert [e.kind for e in rec.events] == ["paper_out", "printer_ready"]
        assert [(o.result, o.as_copy) for o in rec.outcomes] == [
            ("requeued", True),
            ("printed", True),
        ]
        assert queue.get("r1").state is JobState.PRINTED
        first, second = machine.jobs
        assert first.ended_by == "paper_out"  # the original, cut short by the empty roll
        assert _is_copy(second)

    asyncio.run(run())


def test_paper_out_before_the_job_prints_the_original_later(tmp_path: Path) -> None:
    rec = Recorder()

    async def run() -> None:
        machine = PrinterMachine(384, out_dir=tmp_path, paper_dots=0)
        server = TcpPrinterServer(machine, idle_flush_s=None)
        port = await server.start()
        queue = PrintQueue(tmp_path / "q.db")
        queue.submit("r1", "counter", ORIGINAL, COPY)
        worker = rec.worker(queue, TcpPrinter("127.0.0.1", port))
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        await rec.until(lambda: bool(rec.events))  # the worker found the paper out
        assert queue.get("r1").state is JobState.QUEUED
        assert machine.bytes_received < 100
        machine.load_paper()
        await rec.until(lambda: bool(rec.outcomes))
        assert queue.get("r1").state is JobState.PRINTED
        stop.set()
        await task
        await worker.transport.close()
        await server.stop()
        machine.flush()
        [job] = machine.jobs
        assert not _is_copy(job)
        assert [e.kind for e in rec.events] == ["paper_out", "printer_ready"]

    asyncio.run(run())


def test_ble_disconnect_mid_job_resumes_and_prints_once(tmp_path: Path) -> None:
    rec = Recorder()

    async def run() -> None:
        async with ble_printer(tmp_path) as (sim, printer):
            queue = PrintQueue(tmp_path / "q.db")
            queue.submit("r1", "counter", ORIGINAL, COPY)
            sim.disconnect_after = len(ORIGINAL) // 2
            await rec.worker(queue, printer).drain()
            sim.machine.flush()
            assert printer.reconnects == 1
            [job] = sim.machine.jobs
            assert not _is_copy(job)
            assert [(o.result, o.as_copy) for o in rec.outcomes] == [("printed", False)]

    asyncio.run(run())


def test_ble_disconnect_without_acknowledgements_prints_one_copy(tmp_path: Path) -> None:
    rec = Recorder()

    async def run() -> None:
        async with ble_printer(tmp_path, with_response=False) as (sim, printer):
            queue = PrintQueue(tmp_path / "q.db")
            queue.submit("r1", "counter", ORIGINAL, COPY)
            sim.disconnect_after = len(ORIGINAL) // 2
            await rec.worker(queue, printer).drain()
            sim.machine.flush()
            partial, copy = sim.machine.jobs
            assert partial.ended_by == "init"
            assert len(partial.rasters) < len(copy.rasters)
            assert _is_copy(copy)
            assert [(o.result, o.as_copy) for o in rec.outcomes] == [
                ("requeued", True),
                ("printed", True),
            ]

    asyncio.run(run())


def test_crash_after_sending_before_confirmation_prints_one_copy(tmp_path: Path) -> None:
    rec = Recorder()

    async def run() -> None:
        # until the whole job and the confirming status query arrived
        machine = WatchedMachine(384, out_dir=tmp_path / "png", mark=6 + len(ORIGINAL) + 6)
        machine.status_answers_left = 2  # answers the check before the job, then goes silent
        server = TcpPrinterServer(machine, idle_flush_s=None)
        port = await server.start()
        db = tmp_path / "q.db"
        queue = PrintQueue(db)
        queue.submit("r1", "counter", ORIGINAL, COPY)
        queue.close()
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.support.print_child",
            str(db),
            str(port),
            "60",
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert child.stdout is not None
            assert await child.stdout.readline() == b"ready\n"
            async with asyncio.timeout(60):
                await machine.reached.wait()
        finally:
            child.send_signal(signal.SIGKILL)
            assert await child.wait() == -signal.SIGKILL
        async with asyncio.timeout(60):  # the server sees the connection close: the job ends
            await machine.job_ended.wait()
        machine.status_answers_left = None
        queue = PrintQueue(db)
        assert queue.recovered == ["r1"]
        worker = rec.worker(queue, TcpPrinter("127.0.0.1", port))
        await worker.drain()
        await worker.transport.close()
        await server.stop()
        machine.flush()
        original, copy = machine.jobs
        assert not _is_copy(original)
        assert _is_copy(copy)
        assert [(o.result, o.as_copy) for o in rec.outcomes] == [("printed", True)]
        assert queue.get("r1").attempts == 2

    asyncio.run(run())


def test_tcp_connection_lost_mid_job_prints_one_copy(tmp_path: Path) -> None:
    rec = Recorder()

    async def run() -> None:
        machine = PrinterMachine(384, out_dir=tmp_path)
        server = TcpPrinterServer(machine, idle_flush_s=None)
        server.disconnect_after = 6 + len(ORIGINAL) // 3  # status query, then a third of the job
        port = await server.start()
        queue = PrintQueue(tmp_path / "q.db")
        queue.submit("r1", "counter", ORIGINAL, COPY)
        worker = rec.worker(queue, TcpPrinter("127.0.0.1", port))
        for _ in range(5):
            await worker.drain()
            if queue.get("r1").state is JobState.PRINTED:
                break
        await worker.transport.close()
        await server.stop()
        machine.flush()
        assert queue.get("r1").state is JobState.PRINTED
        assert queue.get("r1").as_copy
        partial, copy = machine.jobs
        assert len(partial.rasters) < len(copy.rasters)
        assert _is_copy(copy)
        assert rec.outcomes[-1].result == "printed"

    asyncio.run(run())
