"""The Modbus TCP client against scripted servers over real loopback sockets."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.modbus.frames import MbapDecoder, mbap_frame, parse_read_request, read_response_pdu
from drivers.modbus.tcp_client import ModbusTcpClient, ModbusTcpError
from tests.support.aio import run_async

# A handler gets (transaction, unit, fc, address, count) and the writer; it writes what it likes.
Handler = Callable[[int, int, int, int, int, asyncio.StreamWriter], Awaitable[None]]


def words(address: int, count: int) -> list[int]:
    """What the scripted server holds: register n holds n * 3 (mod 2^16)."""
    return [(a * 3) & 0xFFFF for a in range(address, address + count)]


def expected(address: int, count: int) -> bytes:
    return struct.pack(f">{count}H", *words(address, count))


async def honest(
    tid: int, unit: int, fc: int, address: int, count: int, w: asyncio.StreamWriter
) -> None:
    w.write(mbap_frame(tid, unit, read_response_pdu(fc, words(address, count))))


@asynccontextmanager
async def server(handler: Handler) -> AsyncIterator[int]:
    async def serve(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        dec = MbapDecoder()
        try:
            while data := await r.read(4096):
                dec.feed(data)
                while (frame := dec.next_frame()) is not None:
                    req = parse_read_request(frame.pdu)
                    await handler(frame.transaction, frame.unit, req.fc, req.address, req.count, w)
                    await w.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            w.close()

    srv = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield srv.sockets[0].getsockname()[1]
    finally:
        srv.close()


@asynccontextmanager
async def connected(port: int) -> AsyncIterator[ModbusTcpClient]:
    client = ModbusTcpClient("127.0.0.1", port, connect_timeout_s=2)
    await client.connect()
    try:
        yield client
    finally:
        client.close()


@run_async
async def test_reads_input_and_holding_registers() -> None:
    async with server(honest) as port, connected(port) as c:
        assert await c.read(1, 4, 0, 76, timeout_s=1) == expected(0, 76)
        assert await c.read(7, 3, 0x156, 2, timeout_s=1) == expected(0x156, 2)
        assert (c.frame_errors, c.stray_frames, c.in_flight) == (0, 0, 0)


@run_async
async def test_answers_out_of_order_reach_their_own_requests() -> None:
    held: list[tuple[int, int, int, int, int, asyncio.StreamWriter]] = []

    async def late_first(
        tid: int, unit: int, fc: int, address: int, count: int, w: asyncio.StreamWriter
    ) -> None:
        held.append((tid, unit, fc, address, count, w))
        if len(held) == 3:  # answer the three in reverse order
            for args in reversed(held):
                await honest(*args)

    async with server(late_first) as port, connected(port) as c:
        got = await asyncio.gather(
            c.read(1, 4, 0, 10, timeout_s=2),
            c.read(2, 4, 100, 4, timeout_s=2),
            c.read(3, 3, 200, 1, timeout_s=2),
        )
    assert got == [expected(0, 10), expected(100, 4), expected(200, 1)]


@run_async
async def test_a_late_answer_is_dropped_and_the_next_read_gets_its_own() -> None:
    calls = 0

    async def slow_once(
        tid: int, unit: int, fc: int, address: int, count: int, w: asyncio.StreamWriter
    ) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(0.3)
        await honest(tid, unit, fc, address, count, w)

    async with server(slow_once) as port, connected(port) as c:
        with pytest.raises(ModbusTcpError) as info:
            await c.read(1, 4, 0, 2, timeout_s=0.1)
        assert info.value.kind == "timeout"
        # the server answers the second request only after the late first answer
        assert await c.read(1, 4, 50, 2, timeout_s=1) == expected(50, 2)
        assert c.stray_frames == 1
        assert c.connected


@run_async
async def test_an_exception_answer_carries_its_code() -> None:
    async def refuse(
        tid: int, unit: int, fc: int, address: int, count: int, w: asyncio.StreamWriter
    ) -> None:
        w.write(mbap_frame(tid, unit, bytes((fc | 0x80, 2))))

    async with server(refuse) as port, connected(port) as c:
        with pytest.raises(ModbusTcpError) as info:
            await c.read(1, 3, 9, 2, timeout_s=1)
    assert (info.value.kind, info.value.code) == ("exception_code", 2)


@pytest.mark.parametrize(
    "answer",
    [
        lambda tid, unit, fc: mbap_frame(tid, unit + 1, read_response_pdu(fc, [1, 2])),
        lambda tid, unit, fc: mbap_frame(tid, unit, read_response_pdu(fc, [1])),
        lambda tid, unit, fc: mbap_frame(tid, unit, read_response_pdu(3 if fc == 4 else 4, [1, 2])),
    ],
    ids=["other unit", "too few registers", "other function"],
)
@run_async
async def test_an_answer_that_does_not_fit_is_a_protocol_error_and_the_link_stays(
    answer: Callable[[int, int, int], bytes],
) -> None:
    first = True

    async def wrong_once(
        tid: int, unit: int, fc: int, address: int, count: int, w: asyncio.StreamWriter
    ) -> None:
        nonlocal first
        if first:
            first = False
            w.write(answer(tid, unit, fc))
        else:
            await honest(tid, unit, fc, address, count, w)

    async with server(wrong_once) as port, connected(port) as c:
        with pytest.raises(ModbusTcpError) as info:
            await c.read(5, 4, 0, 2, timeout_s=1)
        assert info.value.kind == "protocol"
        assert "does not fit" in info.value.detail or "unit" in info.value.detail
        assert c.frame_errors == 1
        assert await c.read(5, 4, 0, 2, timeout_s=1) == expected(0, 2)


@run_async
async def test_an_unframeable_stream_fails_every_waiting_read_then_reconnects() -> None:
    bad = True

    async def garbage(
        tid: int, unit: int, fc: int, address: int, count: int, w: asyncio.StreamWriter
    ) -> None:
        nonlocal bad
        if bad and address == 1:
            bad = False
            w.write(b"\x00\x01\x12\x34\x00\x05\x01\x04")  # protocol id 0x1234
        elif address != 0:
            await honest(tid, unit, fc, address, count, w)

    async with server(garbage) as port:
        client = ModbusTcpClient("127.0.0.1", port)
        await client.connect()
        waiting = asyncio.ensure_future(client.read(1, 4, 0, 2, timeout_s=5))  # never answered
        await asyncio.sleep(0.05)
        with pytest.raises(ModbusTcpError) as info:
            await client.read(1, 4, 1, 2, timeout_s=5)
        # nobody can tell whose answer broke the stream: every waiting read may go again
        assert info.value.kind == "link_reset"
        assert "protocol id 4660" in info.value.detail
        with pytest.raises(ModbusTcpError) as other:
            await waiting
        assert other.value.kind == "link_reset"
        await asyncio.sleep(0.05)
        assert not client.connected
        await client.connect()
        assert await client.read(1, 4, 2, 2, timeout_s=1) == expected(2, 2)
        assert (client.frame_errors, client.link_resets, client.connects) == (1, 1, 2)
        client.close()


@run_async
async def test_a_server_that_hangs_up_fails_the_read_as_a_connection_error() -> None:
    async def hang_up(
        tid: int, unit: int, fc: int, address: int, count: int, w: asyncio.StreamWriter
    ) -> None:
        w.transport.abort()

    async with server(hang_up) as port, connected(port) as c:
        with pytest.raises(ModbusTcpError) as info:
            await c.read(1, 4, 0, 2, timeout_s=2)
        assert info.value.kind == "connection"
        with pytest.raises(ModbusTcpError) as again:
            await c.read(1, 4, 0, 2, timeout_s=2)
        assert again.value.kind == "connection"
        assert "not connected" in again.value.detail


@run_async
async def test_a_refused_connection_names_the_address() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: refused
        client = ModbusTcpClient("127.0.0.1", port)
        with pytest.raises(ModbusTcpError) as info:
            await client.connect()
    assert info.value.kind == "connection"
    assert f"127.0.0.1:{port}" in info.value.detail


@run_async
async def test_answers_split_byte_by_byte_are_put_together() -> None:
    async def dribble(
        tid: int, unit: int, fc: int, address: int, count: int, w: asyncio.StreamWriter
    ) -> None:
        for b in mbap_frame(tid, unit, read_response_pdu(fc, words(address, count))):
            w.write(bytes((b,)))
            await w.drain()
            await asyncio.sleep(0.001)

    async with server(dribble) as port, connected(port) as c:
        assert await c.read(1, 4, 10, 6, timeout_s=2) == expected(10, 6)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.binary(min_size=1, max_size=40), min_size=1, max_size=6),
    st.booleans(),
)
def test_garbage_from_the_server_ends_in_the_clients_own_errors(
    chunks: list[bytes], answer_first: bool
) -> None:
    """Whatever a server sends, a read ends in a result or a ModbusTcpError, nothing else."""

    async def main() -> None:
        async def noisy(
            tid: int, unit: int, fc: int, address: int, count: int, w: asyncio.StreamWriter
        ) -> None:
            if answer_first:
                await honest(tid, unit, fc, address, count, w)
            for chunk in chunks:
                w.write(chunk)
                await w.drain()

        async with server(noisy) as port, connected(port) as c:
            outcomes: list[bytes | str] = []
            for address in range(3):
                try:
                    outcomes.append(await c.read(1, 4, address, 2, timeout_s=0.2))
                except ModbusTcpError as exc:
                    outcomes.append(exc.kind)
                    if exc.kind == "connection":
                        await c.connect()
            if answer_first:  # the honest answer comes before any garbage
                assert outcomes[0] == expected(0, 2)
            assert c.in_flight == 0  # no request is left waiting, whatever came
            if "protocol" in outcomes:
                assert c.frame_errors >= 1

    asyncio.run(main())
