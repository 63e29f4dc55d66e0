"""Checks of a scenario's raw input, before pydantic reads it.

* ``true`` and ``false`` are not numbers: pydantic's lax mode reads a boolean given for a
  number as 1 or 0 (``rate = true`` a 100% tariff, ``threshold = true`` a 100% origin
  threshold), so a typo or a wrongly generated JSON body would run silently with a number
  nobody wrote. :func:`boolean_for_number` walks the input with the model's fields (into
  nested tables and lists of tables, choosing a policy's model by its ``type``) and returns
  the first place where a boolean stands for a field whose type has no ``bool`` in it, also
  inside a plain list or table (an elasticity ``{default = true}``).
* Text is not a number either: lax mode reads ``rate = "0.1"`` as 0.1 and ``sigma = "4"`` as
  4.0, so a number quoted by mistake (or a JSON body that sends numbers as text) ran as if it
  were typed as a number, while the same text where a word is expected is taken as a word.
  :func:`text_for_number` finds the first text given where the field's type takes no text
  (``float``, ``int``, a ``float`` inside a table or list); TOML integers for ``float`` fields
  stay numbers.
* No control characters: :func:`control_character` finds text holding an escape sequence,
  which would reach a terminal as a command.

:meth:`critmin.scenario.spec.Scenario.from_dict` names the field either returns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import PurePath
from types import UnionType
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel

T = TypeVar("T")
"""What a walk of the input (:func:`_first_leaf`) finds: a field's name, or a name and a text."""


def admits_bool(annotation: Any) -> bool:
    """Whether ``bool`` (or ``Any``) appears anywhere in a type annotation."""
    if annotation is bool or annotation is Any:
        return True
    return any(admits_bool(arg) for arg in get_args(annotation))


def holds_bool(value: Any) -> bool:
    """Whether a value is a boolean or holds one (in lists and tables)."""
    if isinstance(value, bool):
        return True
    if isinstance(value, list | tuple):
        return any(holds_bool(v) for v in value)
    if isinstance(value, dict):
        return any(holds_bool(v) for v in value.values())
    return False


def _models(annotation: Any) -> list[type[BaseModel]]:
    """Every pydantic model inside a type annotation (through lists, unions, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models(arg)]


def _model_for(models: list[type[BaseModel]], value: dict[str, Any]) -> type[BaseModel] | None:
    """The model a table is read as: the only one, or the one whose literal ``type`` it names."""
    if len(models) == 1:
        return models[0]
    for model in models:
        field = model.model_fields.get("type")
        literal = field is not None and get_origin(field.annotation) is Literal
        if literal and value.get("type") in get_args(field.annotation):  # type: ignore[union-attr]
            return model
    return None  # pydantic will say which types there are


def _first_leaf(
    model: type[BaseModel],
    data: Any,
    path: str,
    leaf: Callable[[Any, Any, str], T | None],
) -> T | None:
    """Walk ``data`` with ``model``'s fields (into nested tables and lists of tables, each
    table's model chosen by its ``type``) and return the first ``leaf(annotation, value,
    where)`` that is not None, for the fields that are not tables of a model."""
    if not isinstance(data, dict):
        return None
    for name, value in data.items():
        field = model.model_fields.get(name) if isinstance(name, str) else None
        if field is None:
            continue  # an unknown field: pydantic names it
        where = f"{path}.{name}" if path else name
        models = _models(field.annotation)
        if not models:
            if (found := leaf(field.annotation, value, where)) is not None:
                return found
            continue
        tables = value if isinstance(value, list) else [value]
        for k, table in enumerate(tables):
            if isinstance(table, dict) and (sub := _model_for(models, table)) is not None:
                inner = f"{where}[{k}]" if isinstance(value, list) else where
                if (found := _first_leaf(sub, table, inner, leaf)) is not None:
                    return found
    return None


def _boolean_leaf(annotation: Any, value: Any, where: str) -> str | None:
    return where if holds_bool(value) and not admits_bool(annotation) else None


def boolean_for_number(model: type[BaseModel], data: Any, path: str = "") -> str | None:
    """The field (``policy[0].rate``) of the first boolean given where ``model`` takes none,
    or None."""
    return _first_leaf(model, data, path, _boolean_leaf)


def _members(annotation: Any) -> list[Any]:
    """The alternatives of a type annotation: the members of a union, through ``Annotated``
    (``float | None`` -> ``[float, NoneType]``)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _members(get_args(annotation)[0])
    if origin is Union or origin is UnionType:
        return [m for arg in get_args(annotation) for m in _members(arg)]
    return [annotation]


def _takes_text(types: list[Any]) -> bool:
    """Whether text is one of the values the type annotations take as it is (``str``, a
    ``Literal`` of words, a path, ``Any``), as opposed to text pydantic would convert."""
    for member in (m for t in types for m in _members(t)):
        if member is Any or member is str:
            return True
        if get_origin(member) is Literal and any(isinstance(a, str) for a in get_args(member)):
            return True
        if isinstance(member, type) and issubclass(member, str | PurePath):
            return True
    return False


def _item_types(types: list[Any], value: Any) -> list[Any]:
    """The types of the items of a list or table ``value`` under the annotations: the element
    types of their list and tuple alternatives, or the value types of their dict ones."""
    out: list[Any] = []
    for member in (m for t in types for m in _members(t)):
        origin = get_origin(member)
        args = [a for a in get_args(member) if a is not Ellipsis]
        if isinstance(value, dict) and origin is dict and len(args) == 2:
            out.append(args[1])
        elif (
            isinstance(value, list)
            and isinstance(origin, type)
            and issubclass(origin, Sequence)
            and not issubclass(origin, str)
        ):
            out += args
    return out


def _text_where_number(types: list[Any], value: Any, where: str) -> tuple[str, str] | None:
    """Where ``value`` is or holds text where the annotations ``types`` (its alternatives)
    take none (a number given as text: ``"0.8"``, also inside a table, ``{default = "1.5"}``,
    or a list), and the text."""
    if isinstance(value, str):
        return None if _takes_text(types) else (where, value)
    if not isinstance(value, list | dict):
        return None
    inner_types = _item_types(types, value)
    if not inner_types:
        return None  # not a list or table here: pydantic says what it expects
    items = (
        [(f"{where}.{k}", v) for k, v in value.items()]
        if isinstance(value, dict)
        else [(f"{where}[{k}]", v) for k, v in enumerate(value)]
    )
    for inner, item in items:
        if (found := _text_where_number(inner_types, item, inner)) is not None:
            return found
    return None


def text_for_number(model: type[BaseModel], data: Any, path: str = "") -> tuple[str, str] | None:
    """The field (``policy[0].rate``, ``defaults.supply_elasticity.CHN``) and the text of the
    first text given where ``model`` takes a number (no ``str`` in the field's type at that
    place), or None."""
    return _first_leaf(
        model,
        data,
        path,
        lambda annotation, value, where: _text_where_number([annotation], value, where),
    )


_CONTROL = {
    chr(c)
    for c in (
        *range(0x00, 0x09),
        0x0B,
        0x0C,
        *range(0x0E, 0x20),
        0x7F,
        *range(0x202A, 0x202F),  # bidirectional embeddings and overrides: they reorder text
        *range(0x2066, 0x206A),  # bidirectional isolates (a name that shows as another)
    )
}


def control_character(data: Any, path: str = "") -> str | None:
    """The field (``name``, ``policy[0].label``) of the first text holding a control
    character (an escape sequence would reach the terminal as a command: colours, links,
    cursor moves; tab and line breaks are text), or None."""
    if isinstance(data, str):
        return (path or "<root>") if _CONTROL.intersection(data) else None
    items: list[tuple[str, Any]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _CONTROL.intersection(key):
                return where
            items.append((where, value))
    elif isinstance(data, list):
        items = [(f"{path}[{k}]", value) for k, value in enumerate(data)]
    for where, value in items:
        if (found := control_character(value, where)) is not None:
            return found
    return None
