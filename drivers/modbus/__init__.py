"""Modbus meters: models as data, the value decoder, the request planner and frame codecs."""
