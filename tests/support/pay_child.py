"""A cashier in its own process that takes one payment and is killed at a chosen step.

``python -m tests.support.pay_child DIR STEP``: STEP is the store call after which the process
SIGKILLs itself (``record``, ``add_paid``, ``submit``) or ``committed`` (after pay's commit).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.cashier.cache import BillCache
from gateway.cashier.payments import PaymentLedger
from gateway.printing.queue import PrintQueue
from tests.support.cashier_kit import BILL, make_cashier


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _then_die(cls: type, name: str) -> None:
    original: Callable[..., Any] = getattr(cls, name)

    def wrapped(self: object, *args: object, **kwargs: object) -> Any:
        result = original(self, *args, **kwargs)
        _die()
        return result

    setattr(cls, name, wrapped)


STEPS: dict[str, tuple[type, str]] = {
    "record": (PaymentLedger, "record"),
    "add_paid": (BillCache, "add_paid"),
    "submit": (PrintQueue, "submit"),
}


def main(directory: Path, step: str) -> None:
    cashier = make_cashier(directory)
    if step == "committed":
        cashier.on_submit = _die
    else:
        _then_die(*STEPS[step])
    print("paying", flush=True)
    cashier.pay(BILL, 387482)
    print("survived", flush=True)  # the step was never reached: the test fails on this


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
