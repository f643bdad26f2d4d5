"""The command line: receipt keys and verification, the BLE print demo, offline cashier."""

import json
import socket
from pathlib import Path

import pytest

from m2c.cli import main

ROOT = Path(__file__).parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_print_demo_over_ble_then_verify_receipt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "png"
    assert main(["sim", "printer", "ble-demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"{out}/job-0001.png" in printed
    assert f"{out}/job-0002.png" in printed
    assert (out / "job-0002.txt").read_text().count("[raster") > 5
    qr = printed.split("verify '")[1].split("'")[0]
    entry = printed.split("[keys] ")[1].rstrip().rstrip(">")
    keyring = tmp_path / "keyring.toml"
    keyring.write_text(f"[keys]\n{entry}\n", encoding="utf-8")
    assert main(["receipt", "verify", qr, "--keyring", str(keyring)]) == 0
    assert "VALID receipt DEMO-000001" in capsys.readouterr().out
    forged = qr.replace("*387482*", "*387483*")
    assert main(["receipt", "verify", forged, "--keyring", str(keyring)]) == 1
    assert "INVALID" in capsys.readouterr().out
    qr_file = tmp_path / "qr.txt"
    qr_file.write_text("garbage", encoding="utf-8")
    assert main(["receipt", "verify", str(qr_file), "--keyring", str(keyring)]) == 1
    assert "not a M2C1 receipt" in capsys.readouterr().out


def test_cashier_cli_takes_payments_with_printer_and_central_away(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "key.pem"
    assert main(["receipt", "keygen", "--key", str(key), "--gateway", "gw-1"]) == 0
    assert '"gw-1" = [' in capsys.readouterr().out
    assert key.stat().st_mode & 0o777 == 0o600
    assert main(["receipt", "keygen", "--key", str(key), "--gateway", "gw-1"]) == 2
    config = tmp_path / "cashier.toml"
    config.write_text(
        f'[cashier]\ngateway_id = "gw-1"\ndata_dir = "{tmp_path / "data"}"\n'
        f'signing_key = "{key}"\ncashier_name = "Lê Thị Thu"\nreceipt_prefix = "BN09"\n'
        f'[printer]\ntransport = "tcp"\naddress = "127.0.0.1"\nport = {_free_port()}\n'
        "status_timeout_s = 0.5\n",
        encoding="utf-8",
    )
    base = ["cashier", "-c", str(config)]
    push = ROOT / "config" / "samples" / "bill_cache_route.json"
    assert main([*base, "load-cache", str(push)]) == 0
    assert main([*base, "lookup", "PB14010012346"]) == 0
    capsys.readouterr()
    assert main([*base, "pay", "HD-2611-0002", "89994"]) == 0
    out = capsys.readouterr().out
    assert "receipt BN09-000001" in out
    assert "printer held: printer_unavailable" in out
    assert main([*base, "pending"]) == 0
    [line] = capsys.readouterr().out.strip().splitlines()
    assert json.loads(line)["payment_id"] == "gw-1-BN09-000001"
    assert main([*base, "pay", "HD-2611-0002", "1"]) == 1
    assert "already_paid" in capsys.readouterr().out
    # the receipt never printed (no printer): a reprint waits for the first print
    assert main([*base, "reprint", "BN09-000001"]) == 1
    assert "unknown_receipt" in capsys.readouterr().out
    assert main([*base, "reprint", "BN09-999999"]) == 1
    assert "unknown_receipt" in capsys.readouterr().out


def test_cashier_cli_reprints_a_receipt_as_the_copy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio
    import threading

    from simulators.printer.machine import PrinterMachine
    from simulators.printer.servers import TcpPrinterServer

    machine = PrinterMachine(384)
    loop = asyncio.new_event_loop()
    server = TcpPrinterServer(machine, idle_flush_s=None)
    port = loop.run_until_complete(server.start())
    thread = threading.Thread(target=loop.run_forever)
    thread.start()
    try:
        key = tmp_path / "key.pem"
        assert main(["receipt", "keygen", "--key", str(key), "--gateway", "gw-1"]) == 0
        config = tmp_path / "cashier.toml"
        config.write_text(
            f'[cashier]\ngateway_id = "gw-1"\ndata_dir = "{tmp_path / "data"}"\n'
            f'signing_key = "{key}"\ncashier_name = "Lê Thị Thu"\nreceipt_prefix = "BN09"\n'
            f'[printer]\ntransport = "tcp"\naddress = "127.0.0.1"\nport = {port}\n',
            encoding="utf-8",
        )
        base = ["cashier", "-c", str(config)]
        push = ROOT / "config" / "samples" / "bill_cache_route.json"
        assert main([*base, "load-cache", str(push)]) == 0
        assert main([*base, "pay", "HD-2611-0002", "89994"]) == 0
        capsys.readouterr()
        assert main([*base, "reprint", "BN09-000001"]) == 0
        assert "queued receipt-BN09-000001 (copy)" in capsys.readouterr().out
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
    machine.flush()
    original, copy = machine.jobs
    assert "COPY" not in original.text
    assert len(copy.rasters) > len(original.rasters)  # the copy mark, top and bottom


def test_bench_receipt_help_prints_help_and_does_not_run() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "tests.bench.bench_receipt", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    assert "usage: python -m tests.bench.bench_receipt" in done.stdout
    assert "receipt bytes" not in done.stdout  # no figures: the benchmark did not run


def test_cashier_config_errors_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[cashier]\ngateway_id = "gw 1"\n', encoding="utf-8")
    assert main(["cashier", "-c", str(config), "pending"]) == 2


@pytest.mark.parametrize("transport", ["tcp", "serial"])
def test_print_demo_over_other_transports(transport: str, tmp_path: Path) -> None:
    import asyncio

    from m2c.printing_demo import print_demo

    result = asyncio.run(
        print_demo(
            tmp_path / "png",
            transport=transport,  # type: ignore[arg-type]
            work_dir=tmp_path / "work",
        )
    )
    assert [p.name for p in result.pngs] == ["job-0001.png", "job-0002.png"]
    assert result.payment.receipt_no == "DEMO-000001"


def test_sim_printer_tcp_process(tmp_path: Path) -> None:
    """``m2c sim printer tcp`` as its own process, printed to by the real TCP transport."""
    import asyncio
    import os
    import sys

    from drivers.printers.tcp import TcpPrinter

    async def run() -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "m2c",
            "--log-level",
            "warning",
            "sim",
            "printer",
            "tcp",
            "--port",
            "0",
            "--out",
            str(tmp_path),
            "--idle",
            "0.2",
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None
        try:
            line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
            port = int(line.split("tcp://127.0.0.1:")[1].split(",")[0])
            printer = TcpPrinter("127.0.0.1", port)
            await printer.write(b"\x1b@Xin chao\n")
            assert (await printer.read_status()).ready
            await printer.close()
            job_line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
            assert "job 1:" in job_line
        finally:
            proc.terminate()
            await proc.wait()
        assert (tmp_path / "job-0001.txt").read_text() == "Xin chao\n"

    asyncio.run(run())
