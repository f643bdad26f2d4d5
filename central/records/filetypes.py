"""What an uploaded file is, judged by its first bytes, not by what the uploader says.

A contract file or a reading photo is kept only when its bytes are one of the types its door
accepts and agree with the type it claims; it is then served with that type, as an attachment.
An HTML page claiming to be a JPEG is refused here.
"""

from __future__ import annotations

from central.records.errors import Invalid

JPEG = "image/jpeg"
PNG = "image/png"
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

PHOTOS = frozenset({JPEG, PNG})
CONTRACT_FILES = frozenset({JPEG, PNG, PDF, DOCX, XLSX})

_MAGIC: tuple[tuple[bytes, frozenset[str]], ...] = (
    (b"\xff\xd8\xff", frozenset({JPEG})),
    (b"\x89PNG\r\n\x1a\n", frozenset({PNG})),
    (b"%PDF-", frozenset({PDF})),
    (b"PK\x03\x04", frozenset({DOCX, XLSX})),  # Office Open XML is a zip
)
_ALIASES = {"image/jpg": JPEG, "image/pjpeg": JPEG}


def sniff(data: bytes) -> frozenset[str]:
    """The types ``data`` can be, by its signature (empty when none is known)."""
    for magic, types in _MAGIC:
        if data.startswith(magic):
            return types
    return frozenset()


def checked(
    data: bytes, claimed: str | None, allowed: frozenset[str], *, field: str = "file"
) -> str:
    """The media type to store and serve ``data`` with; raises :class:`Invalid` when the bytes
    are not an allowed type or not the type claimed."""
    can_be = sniff(data) & allowed
    if claimed is None or claimed.strip() == "":
        if len(can_be) == 1:
            return next(iter(can_be))
        raise Invalid(field, f"is none of {', '.join(sorted(allowed))}")
    media = claimed.split(";", 1)[0].strip().lower()
    media = _ALIASES.get(media, media)
    if media not in allowed:
        raise Invalid(field, f"type {media!r} is not accepted here ({', '.join(sorted(allowed))})")
    if media not in can_be:
        raise Invalid(field, f"the content is not {media}")
    return media
