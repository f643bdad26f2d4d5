"""The simulators' building blocks: registers that evolve like meters, and pty ports."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import serial

from simulators.profiles import electricity, water
from simulators.ptylink import PtyPort


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_energy_grows_with_the_load_profile_and_rolls_over() -> None:
    clock = Clock()
    register = electricity(999_990.0, 2.0, seed=3, clock=clock)
    night = register.advance()
    clock.now += timedelta(hours=3)  # 00:00-03:00, the quiet hours
    after_night = register.advance()
    assert 0.0 < after_night - night < 3 * 2.0 * 0.5
    clock.now = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # the day and the evening peak
    rolled = register.advance()
    assert rolled < after_night  # passed 999999.999 and started again at 0
    assert rolled < 100


def test_stuck_register_does_not_move_and_rates_follow_the_hour() -> None:
    clock = Clock()
    register = water(50.0, 1.0, seed=1, clock=clock, tz_offset_h=7.0)
    clock.now += timedelta(hours=1)  # 07:00-08:00 local: the morning peak
    assert register.advance(stuck=True) == 50.0
    assert register.rate > 1.0
    clock.now = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)  # 03:00 local
    register.advance()
    assert register.rate < 0.1


def test_pty_port_reports_the_speed_the_other_end_set(tmp_path: Path) -> None:
    link = tmp_path / "ttyUSB0"
    pty = PtyPort(link)
    assert link.is_symlink()
    assert os.readlink(link) == pty.slave_name
    assert not pty.connected
    for _ in range(2):  # reopening with 8E1, which a pty cannot do, works every time
        with serial.Serial(pty.path, 1200, parity="E") as port:
            assert pty.connected
            assert pty.speed() == 1200
            port.baudrate = 19200
            assert pty.speed() == 19200
            port.write(b"abc")
            port.flush()
            assert pty.read_nowait() == b"abc"
        assert pty.read_nowait() == b""  # nobody there: the port is made fresh again
        assert pty.speed() != 19200
    pty.close()
    assert not link.exists()
