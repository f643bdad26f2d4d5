"""Document templates: a utility's layout as TOML data, not code.

A template names its kind (``notice`` or ``receipt``), an optional logo (a PNG path relative
to the template file), header and footer lines, the title, the fields shown in order, their
labels and the font sizes. Header and footer lines may use ``{utility}``, ``{tax_code}``,
``{utility_address}``, ``{hotline}``, ``{cashier}`` and ``{cashier_phone}``.
See ``config/templates/*.toml`` and docs/printing.md.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Kind = Literal["notice", "receipt"]

NOTICE_FIELDS = frozenset(
    {
        "customer",
        "account",
        "address",
        "phone",
        "before_tax",
        "vat",
        "period",
        "indexes",
        "consumption",
        "lines",
        "charges",
        "total",
        "due",
        "cashier",
        "payee",
        "vietqr",
        "rule",
    }
)
RECEIPT_FIELDS = NOTICE_FIELDS | {"receipt_no", "paid_at", "paid", "method", "verification"}
# Fields that print no label of their own.
UNLABELLED = frozenset({"lines", "charges", "rule"})  # "lines" with a label prints a table
PLACEHOLDERS = ("utility", "tax_code", "utility_address", "hotline", "cashier", "cashier_phone")


class TemplateError(ValueError):
    """A template file is unreadable or names an unknown field, or lacks a label."""


@dataclass(frozen=True)
class Sizes:
    small: int = 18
    normal: int = 20
    large: int = 28


@dataclass(frozen=True)
class Template:
    name: str
    kind: Kind
    title: str
    fields: tuple[str, ...]
    labels: dict[str, str] = field(hash=False)
    header: tuple[str, ...] = ()
    footer: tuple[str, ...] = ()
    logo: Path | None = None
    sizes: Sizes = Sizes()
    copy_mark: str = "BẢN SAO / COPY"

    def __post_init__(self) -> None:
        allowed = NOTICE_FIELDS if self.kind == "notice" else RECEIPT_FIELDS
        for name in self.fields:
            if name not in allowed:
                raise TemplateError(
                    f"template {self.name}: field {name!r} is not one of {sorted(allowed)}"
                )
            if name not in UNLABELLED and name not in self.labels:
                raise TemplateError(f"template {self.name}: field {name!r} has no label")
        for line in (*self.header, *self.footer):
            try:
                line.format(**dict.fromkeys(PLACEHOLDERS, ""))
            except (KeyError, IndexError, ValueError) as exc:
                raise TemplateError(
                    f"template {self.name}: line {line!r} has a bad placeholder ({exc}); "
                    f"allowed: {', '.join(PLACEHOLDERS)}"
                ) from exc

    def label(self, name: str) -> str:
        return self.labels.get(name, "")


def load_template(path: Path) -> Template:
    """Read a template TOML file; raises :class:`TemplateError` naming the file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise TemplateError(f"template {path}: {exc}") from exc
    return template_from_dict(data, base=path.parent, where=str(path))


def template_from_dict(data: dict[str, Any], *, base: Path, where: str) -> Template:
    known = {"name", "kind", "title", "fields", "labels", "header", "footer", "logo", "sizes"}
    unknown = set(data) - known - {"copy_mark"}
    if unknown:
        raise TemplateError(f"template {where}: unknown keys {sorted(unknown)}")
    try:
        kind = data["kind"]
        if kind not in ("notice", "receipt"):
            raise TemplateError(f"template {where}: kind {kind!r} is not notice or receipt")
        logo = data.get("logo")
        sizes = data.get("sizes", {})
        return Template(
            name=str(data.get("name", Path(where).stem)),
            kind=kind,
            title=str(data["title"]),
            fields=tuple(str(x) for x in data["fields"]),
            labels={str(k): str(v) for k, v in data.get("labels", {}).items()},
            header=tuple(str(x) for x in data.get("header", ())),
            footer=tuple(str(x) for x in data.get("footer", ())),
            logo=(base / logo) if logo else None,
            sizes=Sizes(**{k: int(v) for k, v in sizes.items()}),
            copy_mark=str(data.get("copy_mark", "BẢN SAO / COPY")),
        )
    except KeyError as exc:
        raise TemplateError(f"template {where}: missing key {exc.args[0]!r}") from exc
    except TypeError as exc:
        raise TemplateError(f"template {where}: {exc}") from exc
