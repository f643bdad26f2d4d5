"""Simulated Modbus meters on RTU (a pty) and TCP, with faults.

``ModbusTcpSimulator(meters, host=, port=)`` and ``ModbusRtuSimulator(meters, link=, baud=,
wire_timing=)`` are async context managers; a meter is a :class:`MeterSpec` (unit id, model
name, :class:`Faults`).
"""

from simulators.modbus.faults import Faults, parse_faults
from simulators.modbus.meter import MeterSpec
from simulators.modbus.rtu import ModbusRtuSimulator
from simulators.modbus.tcp import ModbusTcpSimulator

__all__ = ["Faults", "MeterSpec", "ModbusRtuSimulator", "ModbusTcpSimulator", "parse_faults"]
