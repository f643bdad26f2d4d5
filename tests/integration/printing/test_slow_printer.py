"""A slow TCP 9100 printer prints each job once: the confirmation wait follows the bytes."""

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from drivers.escpos.layout import layout
from drivers.escpos.profile import profile
from drivers.escpos.template import load_template
from drivers.printers.tcp import TcpPrinter
from gateway.printing.queue import JobState, PrintQueue
from gateway.printing.render import render_job
from gateway.printing.worker import JobOutcome, PrintWorker
from simulators.printer.machine import PrintedJob, PrinterMachine
from simulators.printer.servers import TcpPrinterServer
from tests.support.documents import sample_receipt
from tests.support.printers import WatchedMachine
from tests.support.printout import assert_printout_shows, expected_output

ROOT = Path(__file__).parents[3]
TEMPLATE = load_template(ROOT / "config" / "templates" / "receipt.toml")
PROFILE = profile("generic-58")
RECEIPT = sample_receipt(Ed25519PrivateKey.from_private_bytes(bytes(32)))
ORIGINAL, COPY = render_job(RECEIPT, TEMPLATE, PROFILE)


def _assert_is(job: PrintedJob, *, copy: bool) -> None:
    assert_printout_shows(
        job, expected_output(layout(RECEIPT, TEMPLATE, copy=copy), PROFILE, TEMPLATE.sizes)
    )


def test_the_job_is_larger_than_two_seconds_at_five_kilobytes() -> None:
    assert len(ORIGINAL) > 2 * 5000  # else the tests below would not reach the old fixed wait


@pytest.mark.parametrize("rate", [5000, 2500])
def test_a_slow_printer_prints_the_job_once_and_confirms_it(tmp_path: Path, rate: int) -> None:
    outcomes: list[JobOutcome] = []

    async def run() -> None:
        machine = PrinterMachine(384, out_dir=tmp_path)
        server = TcpPrinterServer(machine, rate_bps=rate, idle_flush_s=None)
        port = await server.start()
        queue = PrintQueue(tmp_path / "q.db")
        queue.submit("r1", "counter", ORIGINAL, COPY)
        queue.submit("r2", "counter", ORIGINAL, COPY)
        printer = TcpPrinter("127.0.0.1", port)  # the shipped defaults
        worker = PrintWorker(queue, "counter", printer, on_outcome=outcomes.append)
        await worker.drain()
        await printer.close()
        await server.stop()
        machine.flush()
        assert [(o.job_id, o.result, o.as_copy) for o in outcomes] == [
            ("r1", "printed", False),
            ("r2", "printed", False),
        ]
        assert queue.get("r1").state is JobState.PRINTED
        assert len(machine.jobs) == 2
        for job in machine.jobs:
            _assert_is(job, copy=False)
        # the first job taught the transport the link's speed (bytes per second)
        assert printer.measured_bps is not None
        assert rate * 0.5 < printer.measured_bps < rate * 1.5

    asyncio.run(run())


def test_kill_mid_job_on_a_slow_printer_prints_one_copy(tmp_path: Path) -> None:
    outcomes: list[JobOutcome] = []

    async def run() -> None:
        machine = WatchedMachine(384, out_dir=tmp_path, mark=len(ORIGINAL) // 2)
        server = TcpPrinterServer(machine, rate_bps=8000, idle_flush_s=None)
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
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert child.stdout is not None
            assert await child.stdout.readline() == b"ready\n"
            async with asyncio.timeout(60):  # until the printer is half way through the job
                await machine.reached.wait()
        finally:
            child.send_signal(signal.SIGKILL)
            assert await child.wait() == -signal.SIGKILL
        queue = PrintQueue(db)
        assert queue.recovered == ["r1"]
        printer = TcpPrinter("127.0.0.1", port)
        stop = asyncio.Event()

        def outcome(o: JobOutcome) -> None:
            outcomes.append(o)
            if o.result != "requeued":
                stop.set()

        worker = PrintWorker(queue, "counter", printer, on_outcome=outcome, poll_s=0.05)
        task = asyncio.create_task(worker.run(stop))
        async with asyncio.timeout(60):
            await stop.wait()
        await task
        await printer.close()
        await server.stop()
        machine.flush()
        assert [(o.result, o.as_copy) for o in outcomes] == [("printed", True)]
        original, copy = machine.jobs
        _assert_is(original, copy=False)
        _assert_is(copy, copy=True)

    asyncio.run(run())
