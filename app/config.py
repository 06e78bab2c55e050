"""Settings: thresholds, timeouts, limits and keys, from the environment (prefix ``APP_``).

Read from the process environment and, when present, from a ``.env`` file in the working
directory (the environment wins). The sidecar's own address variables (``DAPR_GRPC_PORT``,
``DAPR_API_TOKEN``...) stay the SDK's: the sidecar injector sets them on Kubernetes and the local
launcher sets them here. This module imports nothing from the app: everything else reads it.
"""

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Work items the worker may hold before starts are refused (docs/benchmarks.md, "Where the
# machine saturates").
PENDING_WORK_BOUND = 100


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="APP_", env_file=".env", extra="ignore")

    # purchase_approval
    approval_threshold: float = Field(
        1000.0, ge=0, description="Orders at or above this cost wait for a human"
    )
    purchase_budget: float = Field(
        100_000.0, ge=0, description="An order costing more is refused before anyone is asked"
    )
    # fan_out_fan_in; the upper bound is fan_out_fan_in.MAX_PARALLEL (a unit test holds them equal)
    default_max_parallel: int = Field(
        100, ge=1, le=1000, description="Activities in flight per fan-out when the input sets none"
    )
    # monitor
    monitor_check_timeout_seconds: float = Field(
        5.0, gt=0, description="Deadline for one health check of a monitor"
    )
    monitor_allowed_hosts: str = Field(
        "", description="Comma-separated hosts a monitor may check; empty allows any"
    )
    monitor_allow_private: bool = Field(
        False, description="Let monitors check private and loopback addresses (make run: on)"
    )
    monitor_test_resolve: str = Field(
        "", description="Tests: fixed addresses for names under .test, 'name.test=address,...'"
    )
    # Set by Kubernetes in every pod: the API server's address, which a monitor never checks.
    kubernetes_service_host: str | None = Field(None, validation_alias="KUBERNETES_SERVICE_HOST")
    # HTTP API
    max_body_bytes: int = Field(1024 * 1024, ge=1024, description="Larger request bodies get 413")
    retry_after_seconds: int = Field(1, ge=1, description="Retry-After on 202 and running status")
    status_max_age_seconds: float = Field(
        1.0,
        ge=0,
        le=5,
        description="How old a running instance's /status may be (0: every poll reads the sidecar)",
    )
    idle_status_max_age_seconds: float = Field(
        5.0,
        ge=0,
        le=30,
        description="How old a running instance's /status may grow while reads find it unchanged "
        "(waiting for an event or a timer); its end shows at once all the same",
    )
    finished_status_max_age_seconds: float = Field(
        2.0,
        ge=0,
        le=60,
        description="How long a finished instance's /status is served from memory; bounds how "
        "long a purge or rerun through another replica goes unseen",
    )
    status_cache_entries: int = Field(
        4096, ge=1, description="Instances whose last status is kept in memory (least recent go)"
    )
    sidecar_timeout_seconds: float = Field(10.0, gt=0, description="Deadline for one sidecar call")
    worker_ready_timeout_seconds: float = Field(
        60.0, gt=0, description="How long the workflow worker waits for its stream at start"
    )
    ready_wait_seconds: float = Field(
        15.0, ge=0, description="How long a change waits for a recovering runtime before a 503"
    )
    # Admission control (429 with Retry-After): see docs/api.md, "Limits"
    max_running_instances: int = Field(
        0,
        ge=0,
        description="Unfinished instances this replica started, waiting ones too; 0: no cap",
    )
    max_pending_work_items: int = Field(
        PENDING_WORK_BOUND,
        ge=0,
        description="Work items (workflow steps, activities) this replica's worker may hold, "
        "running or queued, before a start is refused; 0: no bound",
    )
    census_seconds: float = Field(
        300.0,
        ge=0,
        description="Seconds between two censuses of the store's unfinished instances for "
        "/metrics (each reads every instance's state once, without payloads); 0: none",
    )
    max_starts_per_second: float = Field(
        20.0, ge=0, description="Starts a second per API key owner or client address; 0: no limit"
    )
    start_burst: int = Field(40, ge=1, description="Starts a caller may make at once")
    admission_recheck_max_seconds: float = Field(
        30.0, ge=1, description="Longest wait between two looks at one running instance"
    )
    # Workflow worker: async activities make a high cap cheap.
    max_concurrent_activities: int = Field(
        1000, ge=1, description="Activity work items the worker runs at once"
    )
    max_concurrent_workflows: int = Field(
        500, ge=1, description="Workflow work items the worker runs at once"
    )
    worker_threads: int | None = Field(None, ge=1, description="Sync activities' pool; SDK default")
    benchmark_workflows: bool = Field(False, description="Register bench_chain (make bench)")
    log_level: str = Field(
        "INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$", description="The app's log level"
    )
    allowed_hosts: str = Field(
        "localhost,127.0.0.1,[::1]",
        description="Comma-separated names a browser may reach the service by (any port); "
        '"*": any. Guards against DNS rebinding; clients that are not browsers are unaffected',
    )
    api_keys: SecretStr = Field(
        SecretStr(""),
        description='"owner:key,owner:key"; empty leaves the mutating endpoints open',
    )

    @field_validator("api_keys")
    @classmethod
    def _keys_well_formed(cls, value: SecretStr) -> SecretStr:
        # A malformed list must not leave the service open: refuse to start instead.
        _parse_keys(value.get_secret_value())
        return value

    def api_key_owners(self) -> dict[str, str]:
        """Map each configured key to its owner's name."""
        return _parse_keys(self.api_keys.get_secret_value())

    def browser_hosts(self) -> frozenset[str] | None:
        """The names browsers may use in Host, lower-cased; None when any may."""
        names = frozenset(
            h.strip().lower().rstrip(".") for h in self.allowed_hosts.split(",") if h.strip()
        )
        return None if "*" in names else names

    def monitor_hosts(self) -> frozenset[str]:
        """The monitor allow-list, lower-cased; empty when any host may be checked."""
        return frozenset(
            h.strip().lower() for h in self.monitor_allowed_hosts.split(",") if h.strip()
        )


def _parse_keys(text: str) -> dict[str, str]:
    owners: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        owner, _, key = (p.strip() for p in entry.partition(":"))
        if not owner or not key:
            raise ValueError("APP_API_KEYS entries must be owner:key")
        if key in owners:
            raise ValueError(f"APP_API_KEYS gives one key to both {owners[key]!r} and {owner!r}")
        owners[key] = owner
    return owners
