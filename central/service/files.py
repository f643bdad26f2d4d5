"""Files attached to work orders: photos and PDFs, recognised by their content."""

from __future__ import annotations

from urllib.parse import quote

from central.records.errors import Invalid

MAX_BYTES = 10 * 1024 * 1024
MAGIC = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/pdf": (b"%PDF-",),
}


def check(content_type: str, data: bytes, filename: str) -> None:
    """Refuse a file whose bytes are not what its content type claims."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind not in MAGIC:
        raise Invalid("content_type", f"{kind!r} is not accepted (JPEG, PNG or PDF)")
    if not data.startswith(MAGIC[kind]):
        raise Invalid("content_type", f"{filename!r} is not a {kind} file")
    if len(data) > MAX_BYTES:
        raise Invalid("data", f"{filename!r} is over {MAX_BYTES // (1024 * 1024)} MB")
    if not filename or any(c in filename for c in "/\\\x00") or not filename.isprintable():
        raise Invalid("filename", "a plain file name is needed")


def disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback and the UTF-8 name (RFC 6266 / RFC 5987)."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
