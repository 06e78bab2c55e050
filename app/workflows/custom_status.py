"""The custom-status keys that workflows write and the dashboard reads: one spelling for both."""

# The event a workflow waits for now (None once it waits no more).
WAITING_FOR = "waiting_for"
# When that wait ends by itself (ISO 8601, UTC): /metrics' census dates the earliest.
DEADLINE = "deadline"
# Progress of a batch: items done so far, and in all.
DONE = "done"
TOTAL = "total"
