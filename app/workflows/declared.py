"""What a workflow module declares, once: the worker registers it (app/runtime.py) and the API
offers it (app/api/catalogue.py) from this, so a new workflow is its module and one line."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from app.config import Settings

Activity = Callable[..., Any]
Prepare = Callable[[Any, Settings], Any]


def _unchanged(value: Any, _: Settings) -> Any:
    return value


def _no_activities(_: Settings) -> dict[str, Activity]:
    return {}


@dataclass(frozen=True)
class Declared:
    # Registered under this name: a contract with the histories of running instances.
    name: str
    workflow: Callable[..., Any]
    input_model: type[BaseModel]
    # What Swagger UI and the dashboard's start form offer.
    example: dict[str, Any]
    # Its activities by their registered names (also contracts), bound to the settings they need.
    activities: Callable[[Settings], dict[str, Activity]] = _no_activities
    # The events the workflow waits for and the payload model each must validate against.
    events: dict[str, type[BaseModel]] = field(default_factory=dict)
    # Fixes settings-dependent values into the input at start, so that replays see the same ones.
    prepare: Prepare = _unchanged
    # Named versions by their names, oldest first, the last being `workflow` (the latest): for a
    # rewrite that running instances could not replay (docs/changing-workflows.md). An instance
    # runs on the version it started on; one that started before there were versions, on the
    # first.
    versions: tuple[tuple[str, Callable[..., Any]], ...] = ()
    # The patches its code checks (ctx.is_patched): with none and no versions, every instance
    # runs the same code, and /status reads no history to say which.
    patches: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.versions and self.versions[-1][1] is not self.workflow:
            raise ValueError(f"{self.name}: the last of its versions is its workflow, the latest")
        for event_name in self.events:
            if event_name != event_name.casefold():
                raise ValueError(f"declare event {event_name!r} in lower case, as event() finds it")

    def event(self, event_name: str) -> type[BaseModel] | None:
        """The payload model of a declared event. The workflow SDK matches an event's name to
        what a workflow waits for regardless of case, so this does too."""
        return self.events.get(event_name.casefold())

    @property
    def code_varies(self) -> bool:
        """Whether its instances may run different code: it has versions or patches."""
        return bool(self.versions or self.patches)

    @property
    def summary(self) -> str:
        return (self.workflow.__doc__ or "").strip()

    def build_input(self, raw: dict[str, Any], settings: Settings) -> BaseModel:
        """Validate raw input against the workflow's model (raises ValidationError)."""
        return self.prepare(self.input_model.model_validate(raw), settings)  # type: ignore[no-any-return]
