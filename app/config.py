"""Settings: thresholds, timeouts and limits, from the environment (prefix ``APP_``).

The sidecar's own address variables (``DAPR_GRPC_PORT``, ``DAPR_API_TOKEN``...) stay the SDK's:
the sidecar injector sets them on Kubernetes and the local launcher sets them here.
"""

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="APP_", env_file=".env", extra="ignore")

    # purchase_approval
    approval_threshold: float = Field(
        1000.0, description="Orders at or above this cost wait for a human"
    )
    # fan_out_fan_in
    default_max_parallel: int = Field(100, ge=1, description="Activities in flight per fan-out")
    # monitor
    monitor_check_timeout_seconds: float = Field(5.0, gt=0)
    # HTTP API
    max_body_bytes: int = Field(1024 * 1024, ge=1024, description="Larger request bodies get 413")
    retry_after_seconds: int = Field(1, ge=1, description="Retry-After on 202 and running status")
    sidecar_timeout_seconds: float = Field(10.0, gt=0, description="Deadline for one sidecar call")
    worker_ready_timeout_seconds: float = Field(60.0, gt=0)
    # Workflow worker: async activities make a high cap cheap.
    max_concurrent_activities: int = Field(1000, ge=1)
    max_concurrent_workflows: int = Field(500, ge=1)
    worker_threads: int | None = Field(None, ge=1, description="Sync activities' pool; SDK default")
    benchmark_workflows: bool = Field(False, description="Register bench_chain (make bench)")
    log_level: str = Field("INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    # Access control: "owner:key,owner:key". Empty means the mutating endpoints are open.
    api_keys: SecretStr = SecretStr("")

    def api_key_owners(self) -> dict[str, str]:
        """Map each configured key to its owner's name."""
        owners: dict[str, str] = {}
        for pair in self.api_keys.get_secret_value().split(","):
            owner, _, key = pair.strip().partition(":")
            if owner and key:
                owners[key] = owner
        return owners


@lru_cache
def get_settings() -> Settings:
    return Settings()
