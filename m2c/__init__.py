"""The ``m2c`` command line: the composition root that wires gateway, central and simulators."""
