"""Bounds on what one request may carry: every list, map and string of a request body has a
largest size, so that nothing the API sends to Temporal — a workflow's input, an update's
argument — can exceed what Temporal takes (a payload is refused past 2 MB by default: "Blob data
size exceeds limit").

The request bodies are the domain models of ``models/`` that the workflows deserialize; the bounds
are not put there — a constraint added to a model would make the history of a running workflow
fail to replay. Instead ``bounded`` derives, here in the API, a request model from a domain model:
the same fields and validators, with ``max_length`` on every list, map and string that has none
(``DEFAULT_ITEMS``, ``DEFAULT_TEXT``, or the limit named for its path), and every integer without
an upper bound within ±(2**53 - 1), which the ledger's canonical JSON holds exactly. A body past a bound is a 422
naming the field (``notices.media_outlets.TN``, ``summary``) before anything reaches Temporal; the
OpenAPI description shows each bound (``maxItems``, ``maxProperties``, ``maxLength``). A body past
the byte limit (``NOTICEFLOW_API_MAX_BODY_BYTES``) is a 413 before it is read (``api/guard.py``).

``as_domain`` turns a validated request back into the domain model the workflow takes.
"""

from __future__ import annotations

import copy
import types
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt, MaxLen
from fastapi import Path
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError, create_model
from pydantic.fields import FieldInfo

from models.privacy_lifecycle import RELATIONSHIP_ID_PATTERN, VERSION_ID_PATTERN

M = TypeVar("M", bound=BaseModel)

#: Items of a list (or keys of a map) a request may give where no bound is named for it.
DEFAULT_ITEMS = 100
#: Characters of a string a request may give where no bound is named for it.
DEFAULT_TEXT = 4000
#: Bounds by a field's name wherever it appears (an e-mail address: RFC 5321 § 4.5.3.1.3).
BY_NAME: dict[str, int] = {"email": 254}
#: The largest integer a request may give where no bound is named: the ledger's canonical JSON
#: (RFC 8785) holds integers exactly only up to 2**53 - 1 (I-JSON, RFC 7493 § 2.2).
MAX_SAFE_INTEGER = 2**53 - 1

_SEQUENCES = (list, set, frozenset)

# -- path parameters -----------------------------------------------------------------------------
# An id in a path becomes a workflow id (Temporal refuses one past 1,000 bytes) or a field of an
# update: its form is checked with the request (422 naming ``path.<name>``) and shown in the schema.

#: An incident id becomes part of URLs, the workflow id and roster ids (``<id>-r<n>``): plain
#: characters only, and room for the roster suffix within a roster id's 200 characters.
INCIDENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,189}$"
IncidentIdPath = Annotated[str, Path(pattern=INCIDENT_ID_PATTERN, description="The incident id it was started with.")]
#: ``<incident>:<kind>:<jurisdiction>:<recipient>``, as the obligation lists give it.
ObligationIdPath = Annotated[str, Path(min_length=1, max_length=300, description="As `GET …/obligations` gives it.")]
RelationshipIdPath = Annotated[str, Path(pattern=RELATIONSHIP_ID_PATTERN, description="The relationship id it was registered with.")]
VersionIdPath = Annotated[str, Path(pattern=VERSION_ID_PATTERN, description="A policy version id.")]


def bounded(
    model: type[M],
    name: str,
    limits: Mapping[str, int] | None = None,
    *,
    items: int = DEFAULT_ITEMS,
    text: int = DEFAULT_TEXT,
) -> type[M]:
    """``model`` as a request body: a subclass named ``name`` whose every list, map and string
    without a bound gets one.

    ``limits``: bounds by path from the body — fields joined by ``.``, ``[]`` for the items of a
    list or the values of a map — e.g. ``{"notices.producers": 5000, "notices.media_outlets[]": 50,
    "notices.media_outlets[][]": 200}``. A bound the model already has is kept as it is."""
    return _Builder(dict(limits or {}), items, text).model(model, "", name)


class _Builder:
    def __init__(self, limits: dict[str, int], items: int, text: int) -> None:
        self.limits = limits
        self.items = items
        self.text = text
        self.names: dict[str, int] = {}
        self.made: dict[tuple[type[BaseModel], frozenset[tuple[str, int]]], Any] = {}

    def _relative(self, path: str) -> frozenset[tuple[str, int]]:
        """The named limits under ``path``, relative to it: a nested model used in two places
        with the same limits is derived once."""
        return frozenset((k[len(path):], v) for k, v in self.limits.items() if path and len(k) > len(path) and k.startswith(path) and k[len(path)] in ".[")

    def model(self, model: type[BaseModel], path: str, name: str | None = None) -> Any:
        key = (model, self._relative(path))
        if name is None and key in self.made:
            return self.made[key]
        fields: dict[str, Any] = {}
        for field_name, info in model.model_fields.items():
            field_path = f"{path}.{field_name}" if path else field_name
            annotation = self.type(info.annotation, field_path, field_name, outer=tuple(info.metadata))
            if annotation is not info.annotation:
                fields[field_name] = (annotation, _copied(info))
        if not fields and name is None:
            self.made[key] = model
            return model
        title = name or self._name(model.__name__)
        derived = create_model(  # type: ignore[call-overload]
            title, __base__=model, __module__=model.__module__, __doc__=model.__doc__, **fields
        )
        if "title" in model.model_config:  # a title the base was given would name the derived model too
            derived.model_config["title"] = title
            derived.model_rebuild(force=True)
        if name is None:
            self.made[key] = derived
        return derived

    def _name(self, base: str) -> str:
        # Request-side models get names of their own: a response that shows the domain model keeps its name.
        name = f"{base}Input"
        self.names[name] = self.names.get(name, 0) + 1
        return name if self.names[name] == 1 else f"{name}{self.names[name]}"

    def type(self, tp: Any, path: str, leaf: str, *, outer: tuple[Any, ...] = ()) -> Any:
        """``tp`` with its bounds; ``outer``: the constraints that already apply at this level."""
        origin = get_origin(tp)
        bounded_here = _has_max(outer)
        if origin is Annotated:
            base, *meta = get_args(tp)
            inner = self.type(base, path, leaf, outer=(*outer, *meta))
            return tp if inner is base else Annotated[(inner, *meta)]  # type: ignore[return-value]
        if origin in (Union, types.UnionType):
            args = get_args(tp)
            new = tuple(self.type(a, path, leaf, outer=outer) for a in args)
            if all(n is a for n, a in zip(new, args, strict=True)):
                return tp
            return Union[new]  # noqa: UP007 — built from a tuple of types
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return self.model(tp, path)
        if tp is str:
            return tp if bounded_here else Annotated[str, MaxLen(self.limit(path, leaf, self.text))]
        if tp is int:
            limits = ([] if bounded_here else [Le(MAX_SAFE_INTEGER)]) + ([] if _has_min(outer) else [Ge(-MAX_SAFE_INTEGER)])
            return Annotated[(int, *limits)] if limits else tp  # type: ignore[return-value]
        if origin in _SEQUENCES or (origin is tuple and get_args(tp)[-1:] == (Ellipsis,)):
            (item,) = get_args(tp)[:1]
            inner = self.type(item, f"{path}[]", leaf)
            rebuilt = tp if inner is item else (origin[inner, ...] if origin is tuple else origin[inner])
            return rebuilt if bounded_here else Annotated[rebuilt, MaxLen(self.limit(path, None, self.items))]
        if origin is dict:
            key, value = get_args(tp)
            new_key = self.type(key, f"{path}{{}}", leaf)
            new_value = self.type(value, f"{path}[]", leaf)
            rebuilt = tp if (new_key is key and new_value is value) else dict[new_key, new_value]  # type: ignore[valid-type]
            return rebuilt if bounded_here else Annotated[rebuilt, MaxLen(self.limit(path, None, self.items))]
        return tp

    def limit(self, path: str, leaf: str | None, default: int) -> int:
        if path in self.limits:
            return self.limits[path]
        if leaf is not None and leaf in BY_NAME and not path.endswith("]"):
            return BY_NAME[leaf]
        return default


def _has_max(metadata: Any) -> bool:
    """Whether ``metadata`` bounds the value from above already: a length, or for a number its upper limit."""
    return any(
        isinstance(m, MaxLen | Le | Lt) or getattr(m, "max_length", None) is not None or getattr(m, "le", None) is not None
        or getattr(m, "lt", None) is not None
        for m in metadata
    )


def _has_min(metadata: Any) -> bool:
    return any(isinstance(m, Ge | Gt) or getattr(m, "ge", None) is not None or getattr(m, "gt", None) is not None
               for m in metadata)


def _copied(info: FieldInfo) -> FieldInfo:
    """The field's definition (default, description, constraints) for the derived model."""
    return copy.copy(info)


def as_domain(request: BaseModel, model: type[M], **values: Any) -> M:
    """The domain model ``model`` for a validated request (a model made by ``bounded``, or any
    body with the same fields), ``values`` set over it. Built from the request's values, so that
    what the workflow receives is the domain model itself, not the API's derived one."""
    data = {**request.model_dump(include=set(model.model_fields)), **values}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise as_request_error(exc) from None


def as_request_error(exc: ValidationError, prefix: tuple[str | int, ...] = ("body",),
                     rename: Mapping[str, str] | None = None) -> RequestValidationError:
    """A domain model's refusal of a value the API built from the request, as the 422 of a body
    that does not validate (each field named as the body names it, ``rename``: domain → body)."""
    errors = []
    for error in exc.errors(include_input=False, include_url=False):
        loc = tuple(error.get("loc", ()))
        if loc and rename and isinstance(loc[0], str) and loc[0] in rename:
            loc = (rename[loc[0]], *loc[1:])
        errors.append({**error, "loc": (*prefix, *loc)})
    return RequestValidationError(errors)


__all__ = [
    "BY_NAME",
    "DEFAULT_ITEMS",
    "DEFAULT_TEXT",
    "INCIDENT_ID_PATTERN",
    "IncidentIdPath",
    "ObligationIdPath",
    "RelationshipIdPath",
    "VersionIdPath",
    "as_domain",
    "as_request_error",
    "bounded",
]
