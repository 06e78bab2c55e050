"""What every event payload a workflow declares may carry beside its own fields."""

from pydantic import BaseModel, Field


class SignedEvent(BaseModel):
    """An event whose sender the service records: the API key's owner, never the payload's word."""

    authorized_by: str | None = Field(None, description="Set by the service: the API key's owner")
