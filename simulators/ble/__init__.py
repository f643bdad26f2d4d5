"""A virtual Bluetooth LE air (bumble) and a bleak backend that uses it, for tests and demos."""
