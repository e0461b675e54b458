"""The table of settings in docs/configuration.md, generated from `Settings` so it cannot drift.

`python -m ic3sync.settings_doc --write docs/configuration.md` rewrites the table between the
file's two marker comments; `--check` exits 1 when the file's table is stale.
"""

from __future__ import annotations

import argparse
import sys
import typing
from pathlib import Path

import annotated_types
from pydantic.fields import FieldInfo

from ic3sync.config import Settings

BEGIN = "<!-- settings:begin -->"
END = "<!-- settings:end -->"
COMMAND = "python -m ic3sync.settings_doc --write docs/configuration.md"


def settings_table() -> str:
    """One Markdown row per setting: its variable, default, allowed values and meaning."""
    rows = [
        "| variable | default | allowed | meaning |",
        "| --- | --- | --- | --- |",
    ]
    for field in Settings.model_fields.values():
        rows.append(
            "| "
            + " | ".join(
                _cell(text)
                for text in (
                    f"`{field.validation_alias}`",
                    _default(field),
                    _allowed(field),
                    field.description or "",
                )
            )
            + " |"
        )
    return "\n".join(rows)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _default(field: FieldInfo) -> str:
    if field.default is None:
        return "none"
    return f"`{_number(field.default)}`"


def _number(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _allowed(field: FieldInfo) -> str:
    choices = _literal_choices(field.annotation)
    if choices:
        return " or ".join(f"`{choice}`" for choice in choices)
    low = high = ""
    for bound in field.metadata:
        if isinstance(bound, annotated_types.Ge):
            low = f"at least {_number(bound.ge)}"
        elif isinstance(bound, annotated_types.Gt):
            low = f"above {_number(bound.gt)}"
        elif isinstance(bound, annotated_types.Le):
            high = f"at most {_number(bound.le)}"
        elif isinstance(bound, annotated_types.Lt):
            high = f"below {_number(bound.lt)}"
    if low.startswith("at least ") and high.startswith("at most "):
        return f"{low.removeprefix('at least ')} to {high.removeprefix('at most ')}"
    return ", ".join(part for part in (low, high) if part)


def _literal_choices(annotation: object) -> tuple[object, ...]:
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    return ()


def with_table(document: str) -> str:
    """`document` with the text between the markers replaced by today's table."""
    try:
        head, rest = document.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
    except ValueError:
        raise ValueError(f"the document has no {BEGIN} ... {END} markers") from None
    return f"{head}{BEGIN}\n{settings_table()}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ic3sync.settings_doc", description=__doc__)
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", metavar="PATH", type=Path, help="rewrite the table in PATH")
    action.add_argument("--check", metavar="PATH", type=Path, help="exit 1 if PATH is stale")
    args = parser.parse_args(argv)
    if args.write is None and args.check is None:
        print(settings_table())
        return 0
    path: Path = args.write or args.check
    document = path.read_text(encoding="utf-8")
    fresh = with_table(document)
    if args.check is not None:
        if fresh != document:
            print(f"{path}: the settings table is stale; run {COMMAND}", file=sys.stderr)
            return 1
        return 0
    if fresh != document:
        path.write_text(fresh, encoding="utf-8")
        print(f"wrote the settings table to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
