"""Real transports (bleak, pyserial, asyncio TCP) against the simulated printer."""

import asyncio
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from drivers.escpos.encode import encode
from drivers.escpos.layout import layout
from drivers.escpos.profile import profile
from drivers.escpos.template import load_template
from drivers.printers.base import LinkLostError, PrinterUnavailableError
from drivers.printers.ble import BlePrinter, StatusUnsupportedError
from drivers.printers.serial import SerialPrinter
from drivers.printers.tcp import TcpPrinter
from simulators.ble.air import VirtualAir
from simulators.ble.backend import client_backend
from simulators.printer.ble import BlePrinterSim
from simulators.printer.machine import PrinterMachine
from simulators.printer.servers import PtyPrinter, TcpPrinterServer
from tests.support.documents import sample_notice, sample_receipt
from tests.support.printers import ble_printer
from tests.support.printout import assert_printout_shows, expected_output

TEMPLATES = Path(__file__).parents[3] / "config" / "templates"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(32))
LINES = b"\x1b@" + b"".join(b"line %05d\n" % i for i in range(1500))


def _receipt_job() -> tuple[bytes, object]:
    template = load_template(TEMPLATES / "receipt.toml")
    blocks = layout(sample_receipt(KEY), template)
    prof = profile("generic-58")
    return encode(blocks, prof, template.sizes), expected_output(blocks, prof, template.sizes)


def test_ble_scan_connect_print_receipt(tmp_path: Path) -> None:
    data, expected = _receipt_job()

    async def run() -> None:
        async with ble_printer(tmp_path) as (sim, printer):
            await printer.connect()
            assert printer.chunk_size == 244  # negotiated MTU 247 − 3
            assert printer.with_response
            await printer.write(data)
            status = await printer.read_status()
            assert status.ready
            sim.machine.flush()
            assert sim.writes > len(data) // 244
            assert_printout_shows(sim.machine.jobs[0], expected)  # type: ignore[arg-type]

    asyncio.run(run())


def test_ble_disconnect_mid_job_resumes_at_chunk_boundary() -> None:
    async def run() -> None:
        async with ble_printer() as (sim, printer):
            sim.disconnect_after = 7000
            await printer.write(LINES)
            sim.machine.flush()
            lines = sim.machine.jobs[0].text_lines
            assert printer.reconnects == 1
            assert sim.disconnects == 1
            assert lines == [f"line {i:05d}" for i in range(1500)]  # each line exactly once

    asyncio.run(run())


def test_ble_without_responses_cannot_resume_safely() -> None:
    async def run() -> None:
        async with ble_printer(with_response=False) as (sim, printer):
            await printer.connect()
            assert not printer.with_response
            sim.disconnect_after = 3000
            with pytest.raises(LinkLostError) as info:
                await printer.write(LINES)
            assert not info.value.certain

    asyncio.run(run())


def test_ble_gives_up_when_the_printer_stays_away() -> None:
    async def run() -> None:
        async with ble_printer() as (sim, printer):
            await printer.connect()
            sim.disconnect_after = 2000
            await sim.device.stop_advertising()
            sim.air.devices.clear()  # switched off: nothing answers at that address
            with pytest.raises(LinkLostError) as info:
                await printer.write(LINES)
            assert info.value.certain
            assert 0 < info.value.sent <= 2000

    asyncio.run(run())


@pytest.mark.parametrize("gatt", ["isc", "ff00"])
def test_ble_probes_other_known_services(gatt: str) -> None:
    async def run() -> None:
        air = VirtualAir()
        sim = BlePrinterSim(air, PrinterMachine(384), layout=gatt, name="PT-210")
        address = await sim.start()
        printer = BlePrinter(address, backend=client_backend(air))
        await printer.write(b"\x1b@ok\n")
        assert (await printer.read_status()).ready
        await printer.close()
        sim.machine.flush()
        assert sim.machine.jobs[0].text_lines == ["ok"]
        assert printer.pair is not None
        assert printer.pair.service.startswith("49535343" if gatt == "isc" else "0000ff00")
        await sim.stop()

    asyncio.run(run())


def test_ble_unknown_device_is_unavailable() -> None:
    async def run() -> None:
        printer = BlePrinter("F0:00:00:00:09:99", backend=client_backend(VirtualAir()))
        with pytest.raises(PrinterUnavailableError):
            await printer.connect()

    asyncio.run(run())


def test_ble_status_reports_paper_out_and_cover() -> None:
    async def run() -> None:
        async with ble_printer() as (sim, printer):
            sim.machine.paper_dots = 0
            assert (await printer.read_status()).problem() == "paper_out"
            sim.machine.load_paper()
            sim.machine.open_cover()
            assert (await printer.read_status()).problem() == "cover_open"

    asyncio.run(run())


def test_tcp_prints_notice_and_reports_status(tmp_path: Path) -> None:
    template = load_template(TEMPLATES / "notice.toml")
    prof = profile("generic-80")
    blocks = layout(sample_notice(), template)

    async def run() -> None:
        machine = PrinterMachine(576, out_dir=tmp_path)
        server = TcpPrinterServer(machine)
        port = await server.start()
        printer = TcpPrinter("127.0.0.1", port)
        await printer.write(encode(blocks, prof, template.sizes))
        assert (await printer.read_status()).ready
        machine.open_cover()
        assert (await printer.read_status()).cover_open
        await printer.close()
        await server.stop()
        assert_printout_shows(machine.jobs[0], expected_output(blocks, prof, template.sizes))

    asyncio.run(run())


def test_tcp_refused_is_unavailable() -> None:
    async def run() -> None:
        server = TcpPrinterServer(PrinterMachine())
        port = await server.start()
        await server.stop()
        with pytest.raises(PrinterUnavailableError):
            await TcpPrinter("127.0.0.1", port, connect_timeout=1).connect()

    asyncio.run(run())


def test_serial_pty_prints_and_reports_status(tmp_path: Path) -> None:
    data, expected = _receipt_job()

    async def run() -> None:
        machine = PrinterMachine(384, out_dir=tmp_path)
        pty = PtyPrinter(machine, idle_flush_s=None)
        path = await pty.start()
        printer = SerialPrinter(path, baudrate=115200)
        await printer.write(data)
        assert (await printer.read_status()).ready
        machine.paper_dots = 0
        assert (await printer.read_status()).paper_out
        await printer.close()
        await pty.stop()
        machine.flush()
        assert_printout_shows(machine.jobs[0], expected)  # type: ignore[arg-type]

    asyncio.run(run())


def test_ble_printer_without_notify_has_no_status() -> None:
    async def run() -> None:
        air = VirtualAir()
        sim = BlePrinterSim(air, PrinterMachine(384), notify=False)
        address = await sim.start()
        printer = BlePrinter(address, backend=client_backend(air))
        with pytest.raises(StatusUnsupportedError):
            await printer.read_status()
        await printer.close()
        await sim.stop()

    asyncio.run(run())
