"""Central's broker connection settings applied to a paho client: credentials and TLS."""

from __future__ import annotations

import ssl

import paho.mqtt.client as mqtt

from central.settings import BrokerSettings


def configure_client(client: mqtt.Client, settings: BrokerSettings) -> None:
    if settings.username:
        client.username_pw_set(settings.username, settings.secret())
    if settings.tls:
        context = ssl.create_default_context(
            cafile=str(settings.ca_file) if settings.ca_file else None
        )
        if settings.cert_file:
            key = str(settings.key_file) if settings.key_file else None
            context.load_cert_chain(str(settings.cert_file), key)
        client.tls_set_context(context)
