"""Typed TOML tables: a TOML table (or a whole file) checked into a dataclass.

Every TOML file the kit reads (training runs, the judge's rubric, the course file's tables) is
described by dataclasses; `from_table` builds one from parsed TOML, refusing unknown keys, missing
required keys, wrong types and values outside a `Literal` or enum, and names the place of every
mistake: the file, the table and the key, e.g.
    course.toml: [leaderboard] unknown key 'dedline' (known: final_submissions, ...)
    rubric.toml: [components[3].cases[0]] dtype: expected one of 'float32', 'float64', got 'f16'
Each field's one-line description is its `help` metadata (`setting(...)`); `describe_keys`
renders a dataclass's keys, types, defaults and help for a command's --help.

Supported field types: bool, int, float (an int is accepted), str, datetime, `Literal[...]`,
enums, `X | None` (TOML has no null: the key is optional), list[X], tuple[X, ...], tuple[X, Y],
dict[str, X] (a table of X; the allowed keys may be listed), `Any`, and nested dataclasses.
"""

import json
import tomllib
from collections.abc import Callable
from dataclasses import MISSING, Field, dataclass, field, fields, is_dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from types import NoneType, UnionType
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from facekit.base.errors import ConfigError

T = TypeVar("T")

HELP = "help"
"""Metadata key of a field's one-line description (the one name for it)."""
KEYS = "keys"
"""Metadata key of a table-of-X field's allowed keys (absent: any key)."""
SUBTABLES = "subtables"
"""Metadata key marking the dict field that collects a table's keys no other field names."""

_SCALARS: dict[type, str] = {
    bool: "true or false",
    int: "an integer",
    float: "a number",
    str: "a string",
    datetime: "a TOML date-time like 2026-12-01T23:59:00Z",
}


def setting(
    help: str,
    default: Any = MISSING,
    *,
    factory: Callable[[], Any] | None = None,
    keys: tuple[str, ...] | None = None,
    subtables: bool = False,
) -> Any:
    """A dataclass field with its one-line `help` and an optional default (a dict or list
    default is copied per instance; `factory` makes one, e.g. a nested table's dataclass).
    `keys`: the allowed keys of a table-of-X field. `subtables`: this dict field takes the
    table's keys that no other field names (e.g. `[leaderboard.<task>]`)."""
    metadata: dict[str, Any] = {HELP: help}
    if keys is not None:
        metadata[KEYS] = tuple(keys)
    if subtables:
        metadata[SUBTABLES] = True
    if isinstance(default, dict | list):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Where:
    """A place in a TOML file: the file, the table (path parts; ints index arrays of tables)
    and the key inside it (parts too: `mean[0]`)."""

    source: str
    table: tuple[str | int, ...] = ()
    key: tuple[str | int, ...] = ()

    def __str__(self) -> str:
        text = f"{self.source}:"
        if self.table:
            text += f" [{_dotted(self.table)}]"
        if self.key:
            text += f" {_dotted(self.key)}:"
        return text

    def at(self, key: str | int) -> "Where":
        """The place of `key` inside this table (or of item `key` inside this key's list)."""
        return Where(self.source, self.table, (*self.key, key))

    def as_table(self) -> "Where":
        """This key's value seen as a table: its keys are named inside `[table.key]`."""
        return Where(self.source, (*self.table, *self.key))

    def error(self, problem: str) -> ConfigError:
        """A ConfigError reading `file: [table] key: problem`."""
        return ConfigError(f"{self} {problem}")


def _dotted(parts: tuple[str | int, ...]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file's tables, with one ConfigError for a missing, unreadable or malformed file."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None


def load_table(cls: type[T], path: Path) -> T:
    """The whole TOML file at `path` as dataclass `cls`."""
    return from_table(cls, read_toml(path), Where(str(path)))


def from_table(cls: type[T], table: Any, where: Where | str) -> T:
    """An instance of dataclass `cls` from a parsed TOML table; ConfigError naming the place
    (`where`: a Where, or the file's name for a whole file) of the first mistake."""
    where = Where(where) if isinstance(where, str) else where
    if not isinstance(table, dict):
        raise where.error(f"expected a table, got {table!r}")
    where = where.as_table()
    hints = get_type_hints(cls)
    specs = {spec.name: spec for spec in fields(cls) if spec.init}
    rest = next((spec for spec in specs.values() if spec.metadata.get(SUBTABLES)), None)
    own = [name for name in specs if rest is None or name != rest.name]
    allowed_rest = None if rest is None else rest.metadata.get(KEYS)
    known = own + list(allowed_rest or ())
    values: dict[str, Any] = {}
    others: dict[str, Any] = {}
    for key, value in table.items():
        if key in own:
            values[key] = _convert(hints[key], value, where.at(key), specs[key])
        elif rest is not None and (allowed_rest is None or key in allowed_rest):
            others[key] = value
        else:
            raise where.error(f"unknown key '{key}' (known: {', '.join(known)})")
    if rest is not None:
        # Its entries are this table's sub-tables: `[table.<key>]`.
        values[rest.name] = _convert(hints[rest.name], others, where, rest)
    for name, spec in specs.items():
        if name not in values and spec.default is MISSING and spec.default_factory is MISSING:
            if _is_table(hints[name]):
                raise Where(where.source).error(f"missing table [{_dotted((*where.table, name))}]")
            raise where.error(f"missing key '{name}'")
    return cls(**values)


def _is_table(hint: Any) -> bool:
    hint = _optional(hint)
    return is_dataclass(hint) or get_origin(hint) is dict


def _optional(hint: Any) -> Any:
    """X for `X | None`; the hint itself otherwise."""
    if get_origin(hint) in (Union, UnionType):
        others = [arg for arg in get_args(hint) if arg is not NoneType]
        if len(others) != 1:
            raise TypeError(f"unsupported config type {hint}: only X | None")
        return others[0]
    return hint


def _choices(hint: Any) -> tuple[Any, ...] | None:
    """The allowed values of a Literal or an enum; None for other types."""
    if get_origin(hint) is Literal:
        return get_args(hint)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return tuple(member.value for member in hint)
    return None


def _convert(hint: Any, value: Any, where: Where, spec: Field | None = None) -> Any:
    """`value` checked against `hint` (and converted: int to float, list to tuple, str to enum)."""
    hint = _optional(hint)
    if hint is Any:
        return value
    choices = _choices(hint)
    if choices is not None:
        if isinstance(value, bool) or value not in choices:
            listed = ", ".join(repr(choice) for choice in choices)
            raise where.error(f"expected one of {listed}, got {value!r}")
        return hint(value) if isinstance(hint, type) else value
    if is_dataclass(hint):
        return from_table(hint, value, where)
    origin, args = get_origin(hint), get_args(hint)
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise where.error(f"expected a list, got {value!r}")
        if origin is list or args[-1] is Ellipsis:
            items = [_convert(args[0], item, where.at(i)) for i, item in enumerate(value)]
            return items if origin is list else tuple(items)
        if len(value) != len(args):
            raise where.error(f"expected a list of {len(args)} items, got {value!r}")
        return tuple(
            _convert(arg, item, where.at(i))
            for i, (arg, item) in enumerate(zip(args, value, strict=True))
        )
    if origin is dict:
        keys = _choices(args[0]) or (spec.metadata.get(KEYS) if spec else None)
        table = _table_of(args[1], value, where, keys)
        return {args[0](key): item for key, item in table.items()} if _choices(args[0]) else table
    if hint in _SCALARS:
        if hint is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not isinstance(value, hint) or (hint is not bool and isinstance(value, bool)):
            raise where.error(f"expected {_SCALARS[hint]}, got {value!r}")
        return value
    raise TypeError(f"unsupported config type {hint!r} at {where}")


def _table_of(hint: Any, value: Any, where: Where, keys: tuple[Any, ...] | None) -> dict:
    """A table whose values are all of type `hint`, its keys limited to `keys` when given."""
    if not isinstance(value, dict):
        raise where.error(f"expected a table, got {value!r}")
    table = where.as_table()
    for key in value:
        if keys and key not in keys:
            raise table.error(f"unknown key '{key}' (known: {', '.join(map(str, keys))})")
    return {key: _convert(hint, item, table.at(key)) for key, item in value.items()}


def describe_keys(cls: type, table: tuple[str, ...] = ()) -> str:
    """The keys of dataclass `cls` for a command's --help: per table, each key's type, default
    and help (a nested dataclass is a `[table]`, a list of them `[[table]]`)."""
    return "\n".join(_describe(cls, table))


def _describe(cls: type, table: tuple[str, ...]) -> list[str]:
    """Key lines of `cls` first, then each nested table's header and its keys."""
    hints = get_type_hints(cls)
    keys: list[str] = []
    tables: list[str] = []
    for spec in fields(cls):
        hint = _optional(hints[spec.name])
        origin, args = get_origin(hint), get_args(hint)
        path = (*table, spec.name)
        if is_dataclass(hint):
            tables += [_header(f"[{'.'.join(path)}]", spec), *_describe(hint, path)]
        elif origin in (list, tuple) and args and is_dataclass(args[0]):
            tables += [_header(f"[[{'.'.join(path)}]]", spec), *_describe(args[0], path)]
        elif origin is dict and is_dataclass(args[1]):
            # `[table.<key>]`: sub-tables of this table (subtables) or of the field's own table.
            sub = (*(path[:-1] if spec.metadata.get(SUBTABLES) else path), _any_key(spec, args[0]))
            tables += [_header(f"[{'.'.join(sub)}]", spec), *_describe(args[1], sub)]
        elif origin is dict and not table:
            # A top-level table of plain values (a course file's `[components]`).
            tables += [_header(f"[{spec.name}]", spec)]
            tables += [f"  {_any_key(spec, args[0])} ({_type_name(args[1])})"]
        else:
            kind = _type_name(hints[spec.name], spec) + _default(spec)
            keys.append(f"  {spec.name} ({kind}): {spec.metadata.get(HELP, '')}")
    return keys + tables


def _header(name: str, spec: Field) -> str:
    """A table's line: its name, its help, and whether it is required."""
    return f"{name}  {spec.metadata.get(HELP, '')}{_required(spec)}".rstrip()


def _any_key(spec: Field, key_hint: Any) -> str:
    """`<a|b>` for a table whose keys are listed, `<name>` for any key."""
    keys = spec.metadata.get(KEYS) or _choices(key_hint)
    return f"<{'|'.join(map(str, keys))}>" if keys else "<name>"


def _type_name(hint: Any, spec: Field | None = None) -> str:
    hint = _optional(hint)
    choices = _choices(hint)
    if choices is not None:
        return "one of " + ", ".join(json.dumps(choice) for choice in choices)
    if hint is Any:
        return "any value"
    origin, args = get_origin(hint), get_args(hint)
    if origin in (list, tuple):
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        keys = (spec.metadata.get(KEYS) if spec else None) or _choices(args[0])
        within = f" keyed by {', '.join(map(str, keys))}" if keys else ""
        return f"table of {_type_name(args[1])}{within}"
    return _SCALARS[hint].split(" like ")[0].removeprefix("an ").removeprefix("a ")


def _required(spec: Field) -> str:
    """' (required)' for a table without a default."""
    return "" if _default(spec) != "; required" else " (required)"


def _default(spec: Field) -> str:
    if spec.default is MISSING and spec.default_factory is MISSING:
        return "; required"
    default = spec.default if spec.default is not MISSING else spec.default_factory()
    if default is None:
        return "; optional"
    if isinstance(default, Enum):
        default = default.value
    return f"; default {json.dumps(default, default=str)}"
