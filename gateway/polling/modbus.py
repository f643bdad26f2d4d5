"""A Modbus meter behind the :class:`~gateway.polling.device.PolledDevice` interface.

The device plans its requests once (:mod:`drivers.modbus.planner`), sends them through a link
shared by the devices of its bus (:mod:`gateway.polling.modbuslink`), keeps the meter's silence
between its own requests and decodes the answers' bytes with the meter model. A block the meter
refuses with exception 02 (it spans registers the meter does not serve) is cut into the blocks
of the wanted registers, for the rest of the session, and reported (a log line, ``splits``, and
the ``on_split`` callback that counts it in the metrics).

Modbus meters have no clock: a reading's timestamp is the time of the read, flagged
``time_from_gateway``. A counter that went down by more than half its range since the last read
rolled over at its digit count: that reading is flagged ``overflow``. A meter whose every value
(voltages and frequency included, which always jitter) stayed bit-for-bit the same for
``stale_after_s`` is frozen: its readings are flagged ``stale``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

import structlog

from contract.mqtt import QualityFlag, Reading
from drivers.modbus.decode import BlockDecoder
from drivers.modbus.frames import ILLEGAL_ADDRESS
from drivers.modbus.planner import Cost, Request, plan, split
from drivers.modbus.types import MeterModel
from gateway.polling.device import DeviceError
from gateway.polling.modbuslink import ModbusLink, SerialLink, TcpLink
from gateway.polling.modbuslink import where as _where

__all__ = ["ModbusDevice", "ModbusLink", "SerialLink", "TcpLink"]

log = structlog.get_logger(__name__)

OnSplit = Callable[["ModbusDevice", Request, tuple[Request, ...]], None]


def _wall() -> datetime:
    return datetime.now(UTC)


def _any(fc: int, start: int, end: int) -> bool:
    return True


def _none(fc: int, start: int, end: int) -> bool:
    return False


class ModbusDevice:
    """One meter: ``model`` (with its overrides applied) at ``unit_id`` on ``link``.

    ``silence_s`` replaces the model's silence (on Modbus TCP a meter's serial silence is the
    business of the gateway in front of it, not of the client).
    """

    def __init__(
        self,
        device_id: str,
        model: MeterModel,
        unit_id: int,
        link: ModbusLink,
        *,
        cost: Cost | None = None,
        requests: Sequence[Request] | None = None,
        silence_s: float | None = None,
        stale_after_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = _wall,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_split: OnSplit | None = None,
    ) -> None:
        self._id = device_id
        self.model = model
        self.unit_id = unit_id
        self.link = link
        self._wall = wall
        self._sleep = sleep
        self._silence_s = model.limits.silence_s if silence_s is None else silence_s
        # ``requests`` replaces the planner's choice (e.g. register by register, to compare)
        readable = model.is_documented if model.undocumented == "exception" else None
        self.requests: tuple[Request, ...] = (
            tuple(requests)
            if requests is not None
            else plan(model.registers, model.limits, cost or Cost.tcp(), readable or _any)
        )
        self._decoder = self._block_decoder()
        self._on_split = on_split
        self.splits: list[tuple[Request, tuple[Request, ...]]] = []  # refused blocks, as cut
        self._rollover = {r.quantity: r.rollover for r in model.registers if r.rollover}
        self._last: dict[str, float] = {}
        self._stale_after_s = stale_after_s
        self._clock = clock
        self._same: tuple[tuple[str, float, str], ...] = ()
        self._same_since = 0.0
        self.decode_errors = 0

    @property
    def device_id(self) -> str:
        return self._id

    @property
    def silence_s(self) -> float:
        return self._silence_s

    @property
    def timeout_s(self) -> float:
        return self.model.limits.timeout_s

    def _frozen(self, values: list[tuple[str, float, str]]) -> bool:
        now = self._clock()
        same = tuple(values)
        if len(same) < 3 or same != self._same:
            self._same, self._same_since = same, now
            return False
        return now - self._same_since >= self._stale_after_s

    def _block_decoder(self) -> BlockDecoder:
        return BlockDecoder(
            self.model.registers, [(r.fc, r.address, r.count) for r in self.requests]
        )

    def _split(self, refused: Request) -> bool:
        """Cut a block the meter refused (exception 02) into the wanted registers' blocks, gaps
        read only through documented registers; ``False`` when there is nothing to cut."""
        model = self.model
        # the model's documented registers where it lists them, else no gap at all
        readable = model.is_documented if model.documented else _none
        parts = split(refused, model.registers, model.limits, readable)
        if parts == (refused,):
            return False
        i = self.requests.index(refused)
        self.requests = (*self.requests[:i], *parts, *self.requests[i + 1 :])
        self._decoder = self._block_decoder()
        self.splits.append((refused, parts))
        log.warning(
            "meter refused a block spanning registers it does not serve; reading it in parts",
            device=self._id,
            refused=_where(refused),
            parts=[_where(p) for p in parts],
        )
        if self._on_split is not None:
            self._on_split(self, refused, parts)
        return True

    async def _blocks(self) -> list[bytes]:
        link, silence, timeout = self.link, self._silence_s, self.model.limits.timeout_s
        while True:
            blocks: list[bytes] = []
            try:
                for i, req in enumerate(self.requests):
                    if i and silence:
                        await self._sleep(silence)
                    blocks.append(
                        await link.transact(self._id, self.unit_id, req, timeout_s=timeout)
                    )
                return blocks
            except DeviceError as exc:
                refused = self.requests[len(blocks)]
                if exc.code != ILLEGAL_ADDRESS or not self._split(refused):
                    raise
                # read again with the block in parts, for the rest of the session

    async def read(self) -> Sequence[Reading]:
        await self.link.ensure(self._id)
        ts = self._wall()
        blocks = await self._blocks()
        values, errors = self._decoder.decode(blocks)
        if errors:
            self.decode_errors += len(errors)
            if not values:
                raise DeviceError(self._id, "decode", "; ".join(str(e) for e in errors[:3]))
        plain: tuple[QualityFlag, ...] = ("time_from_gateway",)
        if self._frozen(values):
            plain = ("time_from_gateway", "stale")
        rollovers, last, meter, make = self._rollover, self._last, self._id, Reading.trusted
        out: list[Reading] = []
        for quantity, value, unit in values:
            quality = plain
            rollover = rollovers.get(quantity)
            if rollover is not None:
                prev = last.get(quantity)
                if prev is not None and prev - value > rollover / 2:
                    quality = (*plain, "overflow")
                last[quantity] = value
            # The decoder checked the values (finite), the configuration the meter id and the
            # model the quantity names: a full validation per point would cost more than the read.
            out.append(make(meter, quantity, value, unit, ts, quality))
        return out
