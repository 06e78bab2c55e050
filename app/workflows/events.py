"""What every event payload a workflow declares may carry beside its own fields."""

from pydantic import BaseModel, ConfigDict, Field


class SignedEvent(BaseModel):
    """An event whose sender the service records: the API key's owner, never the payload's word."""

    model_config = ConfigDict(strict=True)  # no silent coercion of a caller's values

    authorized_by: str | None = Field(None, description="Set by the service: the API key's owner")
