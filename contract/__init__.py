"""The contract between gateways and central: MQTT topics and payloads, version 1.

Depends on nothing but pydantic, so third parties can vendor it.
"""
