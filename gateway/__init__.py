"""The edge daemon: pollers, the durable outbox, MQTT uplink and downlink, printing, health."""
