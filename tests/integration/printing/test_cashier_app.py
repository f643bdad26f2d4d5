"""The cashier as the gateway daemon runs it: HTTP API thread + print worker on the loop."""

import asyncio
import json
import urllib.request
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contract.bill_cache import BillCachePush
from contract.receipt_signature import verify_receipt
from gateway.cashier.app import CashierApp
from gateway.cashier.config import CashierConfig, CashierFile
from gateway.cashier.keys import create_signing_key
from gateway.printing.config import PrinterConfig
from gateway.printing.worker import JobOutcome
from simulators.printer.machine import PrinterMachine
from simulators.printer.servers import TcpPrinterServer

ROOT = Path(__file__).parents[3]


def _post(port: int, path: str, body: object) -> dict[str, object]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def test_api_payment_is_printed_by_the_running_worker(tmp_path: Path) -> None:
    key: Ed25519PrivateKey = create_signing_key(tmp_path / "key.pem")
    outcomes: list[JobOutcome] = []

    async def run() -> None:
        machine = PrinterMachine(384, out_dir=tmp_path / "png")
        server = TcpPrinterServer(machine, idle_flush_s=None)
        port = await server.start()
        config = CashierFile(
            cashier=CashierConfig(
                gateway_id="gw-7",
                data_dir=tmp_path / "data",
                signing_key=tmp_path / "key.pem",
                cashier_name="Lê Thị Thu",
                listen_port=0,
            ),
            printer=PrinterConfig(transport="tcp", address="127.0.0.1", port=port),
        )
        printed = asyncio.Event()

        def outcome(o: JobOutcome) -> None:  # called on this loop, by the worker
            outcomes.append(o)
            printed.set()

        app = CashierApp.build(config, on_outcome=outcome)
        app.worker.poll_s = 30  # only the API's wake-up can make it print in time
        app.cache.apply(
            BillCachePush.model_validate_json(
                (ROOT / "config" / "samples" / "bill_cache_route.json").read_text(encoding="utf-8")
            )
        )
        stop = asyncio.Event()
        task = asyncio.create_task(app.run(stop))
        await asyncio.sleep(0)  # run() starts the HTTP server before its first await
        assert app.server is not None
        body = await asyncio.to_thread(
            _post, app.server.port, "/bills/HD-2611-0001/payments", {"amount": 387482}
        )
        async with asyncio.timeout(60):  # worker.poll_s is 30: only the wake-up prints in time
            await printed.wait()
        stop.set()
        await task
        await server.stop()
        machine.flush()
        app.close()
        assert [o.result for o in outcomes] == ["printed"]
        assert outcomes[0].ref == body["receipt_no"]
        assert verify_receipt(str(body["verification"]), {"gw-7": (key.public_key(),)})
        assert len(machine.jobs) == 1

    asyncio.run(run())
