"""The sidecar: the app's one client to its workflow API, its answers as values, its refusals
as typed exceptions, and the Protocol the rest of the app (and tests' stand-ins) program to."""

from app.sidecar.client import WorkflowClient, grpc_address
from app.sidecar.convert import TERMINAL, InstanceState
from app.sidecar.errors import (
    InstanceActive,
    InstanceExists,
    InstanceNotFound,
    InvalidToken,
    OutcomeUnknown,
    SidecarRejected,
    SidecarUnavailable,
)
from app.sidecar.protocol import Sidecar

__all__ = [
    "TERMINAL",
    "InstanceActive",
    "InstanceExists",
    "InstanceNotFound",
    "InstanceState",
    "InvalidToken",
    "OutcomeUnknown",
    "Sidecar",
    "SidecarRejected",
    "SidecarUnavailable",
    "WorkflowClient",
    "grpc_address",
]
