"""One clear message for a scenario that fails validation.

pydantic reports every problem it finds, in its own words and with its own locations (union
members such as ``literal['all',...]`` or ``list[str]`` appear in the path). A user needs one
sentence: the field (``policy[0].rate``), the value given and what is allowed, with "did you
mean" when the value or the field name is a near miss. :func:`scenario_error` picks the error
that explains the others (an unknown field ``nmae`` explains the missing ``name``) and words it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from critmin.errors import ScenarioError, did_you_mean

# pydantic's names for union members and validators in an error's location: not field names
_UNION_PARTS = ("list[", "literal[", "float", "dict[", "str", "int", "function-", "tuple[")
_BOUNDS = {
    "greater_than": ("greater than", "gt"),
    "greater_than_equal": ("at least", "ge"),
    "less_than": ("less than", "lt"),
    "less_than_equal": ("at most", "le"),
}
_SELECTOR_WORDS = "'all', 'members', 'non-members' or a list of country codes and groups"


def _is_union_part(part: str | int, tags: set[str]) -> bool:
    return isinstance(part, str) and (part in tags or part.startswith(_UNION_PARTS))


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Every pydantic model inside a type annotation (through lists, unions, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in get_args(annotation):
        found += _models_in(arg)
    return found


def _tag(model: type[BaseModel]) -> str | None:
    """The literal ``type`` of a member of a discriminated union (``tariff``), if any."""
    field = model.model_fields.get("type")
    if field is None or get_origin(field.annotation) is not Literal:
        return None
    args = get_args(field.annotation)
    return str(args[0]) if len(args) == 1 else None


def _model_at(root: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model whose fields are valid at ``loc`` (the location of a field's parent)."""
    candidates = [root]
    for part in loc:
        if isinstance(part, int):
            continue
        by_tag = {_tag(m): m for m in candidates}
        if len(candidates) > 1 and part in by_tag:
            candidates = [by_tag[part]]
            continue
        if len(candidates) != 1 or part not in candidates[0].model_fields:
            return None
        candidates = _models_in(candidates[0].model_fields[part].annotation)
        if not candidates:
            return None
    return candidates[0] if len(candidates) == 1 else None


def _tags(root: type[BaseModel]) -> set[str]:
    """Every discriminator tag below ``root`` (they appear in locations, not as fields)."""
    tags: set[str] = set()
    todo, seen = [root], set()
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        if (t := _tag(model)) is not None:
            tags.add(t)
        for field in model.model_fields.values():
            todo += _models_in(field.annotation)
    return tags


def _field_path(loc: Sequence[str | int], tags: set[str]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1]}[{part}]"] if parts else [f"[{part}]"]
        elif not _is_union_part(part, tags):
            parts.append(str(part))
    return ".".join(parts) or "<root>"


def _shown(value: Any) -> str:
    try:
        text = repr(value)
    except ValueError:  # an integer too long to print (Python's 4300-digit limit)
        return "an integer of thousands of digits"
    return text if len(text) <= 60 else text[:57] + "..."


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


def _priority(e: ErrorDetails) -> int:
    """Which error explains the others: an unknown field first (it often causes a 'missing'),
    then a non-finite number, then anything but 'missing', then 'missing'."""
    order = {"extra_forbidden": 0, "finite_number": 1, "missing": 3}
    return order.get(str(e["type"]), 2)


def scenario_error(exc: ValidationError, root: type[BaseModel]) -> ScenarioError:
    """The one ScenarioError that best explains a failed validation of ``root``."""
    return scenario_errors(exc, root)[0]


def scenario_errors(exc: ValidationError, root: type[BaseModel]) -> list[ScenarioError]:
    """One ScenarioError per field a failed validation of ``root`` refuses: first the one that
    best explains the others (:func:`scenario_error`), then the other fields in pydantic's
    order, each worded from its own best error. A field reported ``missing`` beside an unknown
    field of the same table is left out (the unknown field is likely the missing one, misspelt)."""
    tags = _tags(root)
    errors = exc.errors(include_url=False)
    paths = [_field_path(e["loc"], tags) for e in errors]
    ranked = sorted(range(len(errors)), key=lambda k: (_priority(errors[k]), k))
    misspelt = {
        tuple(errors[k]["loc"][:-1]) for k in ranked if errors[k]["type"] == "extra_forbidden"
    }
    out: dict[str, ScenarioError] = {}
    for k in [ranked[0], *sorted(ranked[1:])]:
        if paths[k] in out or (
            errors[k]["type"] == "missing" and tuple(errors[k]["loc"][:-1]) in misspelt
        ):
            continue
        best = min((j for j in ranked if paths[j] == paths[k]), key=ranked.index)
        out[paths[k]] = _worded(errors, paths, best, root, tags)
    return list(out.values())


def _worded(
    errors: list[ErrorDetails],
    paths: list[str],
    best: int,
    root: type[BaseModel],
    tags: set[str],
) -> ScenarioError:
    """The error ``errors[best]`` in one sentence naming its field (``paths[best]``); the
    other errors tell a selector's union apart."""
    e, field = errors[best], paths[best]
    kind, value = str(e["type"]), e.get("input")
    ctx = e.get("ctx") or {}
    loc = [p for p in e["loc"] if not _is_union_part(p, tags) or p in tags]
    is_selector = any(isinstance(p, str) and p.startswith("literal[") for p in e["loc"]) and any(
        paths[k] == field and str(errors[k]["type"]) in {"list_type", "too_short"}
        for k in range(len(errors))
    )

    if kind == "missing":
        msg = "is required"
    elif kind == "extra_forbidden":
        name = str(loc[-1])
        model = _model_at(root, loc[:-1])
        known = [f for f in model.model_fields if f != "type"] if model else []
        msg = f"is not a known field{did_you_mean(name, known)}"
        msg += f"; the fields here are {', '.join(known)}" if known else ""
    elif kind == "finite_number":
        msg = f"must be a finite number, got {_shown(value)}"
    elif kind == "union_tag_invalid":
        tag = str(ctx.get("tag", ""))
        expected = str(ctx.get("expected_tags", "")).replace("'", "")
        options = [t.strip() for t in expected.split(",") if t.strip()]
        msg = f"type must be one of {', '.join(options)}, got {tag!r}{did_you_mean(tag, options)}"
    elif kind == "union_tag_not_found":
        msg = "each policy needs a type: tariff, price_floor, export_ban or export_quota"
    elif is_selector:
        msg = f"must be {_SELECTOR_WORDS}, got {_shown(value)}"
        if isinstance(value, str):
            # 'watch' is a list item (["watch"]), not a word of its own: not suggested as one
            hint = did_you_mean(value, ["all", "members", "non-members"])
            msg += hint or f" (a list of one: [{value!r}])"
        elif isinstance(value, list) and not value:
            msg += " (an empty list selects no country)"
    elif kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        options = [o.strip(" '") for o in expected.replace(" or ", ", ").split(",")]
        msg = f"must be {expected}, got {_shown(value)}"
        msg += did_you_mean(str(value), options) if isinstance(value, str) else ""
    elif kind in _BOUNDS:
        word, key = _BOUNDS[kind]
        msg = f"must be {word} {float(ctx[key]):g}, got {_shown(value)}"
    else:
        msg = str(e["msg"]).removeprefix("Value error, ")
        if msg.startswith("Input should be ") and "got" in msg:
            msg = "must be " + msg.removeprefix("Input should be ") + f" ({_shown(value)})"
        elif msg.startswith("Input should be "):
            msg = "must be " + msg.removeprefix("Input should be ")
            if _scalar(value):
                msg += f", got {_shown(value)}"
        elif kind == "string_too_short":  # pydantic's "String should have at least 1 character"
            msg = "must not be empty" if ctx.get("min_length", 1) == 1 else msg
        elif kind == "too_short":
            msg = f"must have at least {ctx.get('min_length', 1)} item(s), got none"
            if field.endswith("products"):
                msg += " (leave the field out to apply it to every product)"
    return ScenarioError(field, msg)


def check_depth(data: Any, limit: int) -> None:
    """Reject a document nested more than ``limit`` levels (walked without recursion, so a
    document nested thousands of levels gets this message, not a RecursionError)."""
    stack: list[tuple[Any, int, str]] = [(data, 0, "")]
    while stack:
        node, depth, path = stack.pop()
        if depth > limit:
            raise ScenarioError(
                path or "<root>",
                f"is nested more than {limit} levels deep: a scenario needs at most 4 "
                "(tables, lists of tables, lists of codes)",
            )
        if isinstance(node, dict):
            stack += [(v, depth + 1, f"{path}.{k}" if path else str(k)) for k, v in node.items()]
        elif isinstance(node, list | tuple):
            stack += [(v, depth + 1, f"{path}[{i}]") for i, v in enumerate(node)]
