"""The dashboard's event forms, from the events each workflow declares in the catalogue.

A workflow that declares an event and its payload model (app/api/catalogue.py) gets a form for
it on its instance page, with no template of its own: a field per payload field, and a required
bool field with `json_schema_extra={"choices": {...}}` as one submit button per answer.
"""

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from app.api.catalogue import CATALOG
from app.workflows.custom_status import WAITING_FOR
from app.workflows.events import SignedEvent

LONG_TEXT = 500  # longer strings get a textarea
_TYPES = {"integer": "int", "boolean": "bool", "number": "json", "object": "json", "array": "json"}


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    type: str  # the data-type dashboard.js converts by: "", int, bool, json
    required: bool
    max_length: int | None
    long: bool


@dataclass(frozen=True)
class EventForm:
    event: str
    title: str
    fields: list[FormField]
    choice: str | None  # the field the submit buttons set
    choices: list[tuple[str, str]]  # (value, button label)


def _field(name: str, schema: dict[str, Any], required: bool) -> FormField:
    kinds = [schema.get("type")] + [s.get("type") for s in schema.get("anyOf", [])]
    kind = next((k for k in kinds if k and k != "null"), "string")
    lengths = [schema.get("maxLength")] + [s.get("maxLength") for s in schema.get("anyOf", [])]
    max_length = next((n for n in lengths if n), None)
    return FormField(
        name=name,
        label=schema.get("title", name),
        type=_TYPES.get(kind, ""),
        required=required,
        max_length=max_length,
        long=kind == "string" and (max_length or LONG_TEXT + 1) > LONG_TEXT,
    )


def form_for(event: str, model: type[BaseModel]) -> EventForm:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    fields, choice, choices = [], None, [("true", "Send")]
    for name, spec in schema.get("properties", {}).items():
        if issubclass(model, SignedEvent) and name in SignedEvent.model_fields:
            continue  # set by the service, never by the form
        labels = spec.get("choices")
        if choice is None and spec.get("type") == "boolean" and labels:
            choice, choices = name, list(labels.items())
            continue
        fields.append(_field(name, spec, name in required))
    title = (model.__doc__ or f"Send {event}").strip().splitlines()[0].rstrip(".")
    return EventForm(event, title, fields, choice, choices)


def event_forms(workflow: str, custom_status: Any, finished: bool) -> list[EventForm]:
    """The forms for the events an unfinished instance may take now: the one its custom status
    says it waits for, or, when it does not say, every event its workflow declares."""
    spec = CATALOG.get(workflow)
    if finished or spec is None:
        return []
    waiting = custom_status.get(WAITING_FOR) if isinstance(custom_status, dict) else None
    if not isinstance(waiting, str):
        return [form_for(name, model) for name, model in spec.events.items()]
    model = spec.event(waiting)
    return [form_for(waiting.casefold(), model)] if model else []
