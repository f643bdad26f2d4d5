"""Central's acknowledgements to gateways (pure): which sequence numbers of which gateway's
batched channels a committed transaction stored or quarantined (contract ``IngestAck``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from central.ingest.parse import Item, Partial, Rejected
from contract import mqtt as contract


def key(item: Item) -> tuple[str, contract.ConfirmedChannel, int] | None:
    """(gateway, channel, seq) of a batched message, or None (unbatched, or unreadable)."""
    if isinstance(item, Partial):
        item = item.batch
    if isinstance(item, contract.ReadingsBatch):
        return item.gateway_id, "readings", item.seq
    if isinstance(item, contract.FieldPaymentBatch):
        return item.gateway_id, "payments", item.seq
    if not isinstance(item, Rejected) or not item.gateway_id or item.seq is None:
        return None
    if item.channel == "readings":
        return item.gateway_id, "readings", item.seq
    if item.channel == "payments":
        return item.gateway_id, "payments", item.seq
    return None


def acknowledgements(items: Sequence[Item]) -> list[contract.IngestAck]:
    """One acknowledgement per gateway and channel, the numbers as ranges. A rejected message
    is acknowledged when its gateway and number could be read: it is stored, as quarantine."""
    seqs: dict[tuple[str, contract.ConfirmedChannel], set[int]] = defaultdict(set)
    for item in items:
        k = key(item)
        if k is not None:
            seqs[(k[0], k[1])].add(k[2])
    out: list[contract.IngestAck] = []
    for (gateway_id, channel), numbers in sorted(seqs.items()):
        spans = contract.ranges(numbers)
        for start in range(0, len(spans), contract.MAX_ACK_RANGES):
            out.append(
                contract.IngestAck(
                    gateway_id=gateway_id,
                    channel=channel,
                    seqs=spans[start : start + contract.MAX_ACK_RANGES],
                )
            )
    return out
