"""The custom-status keys that workflows write and the dashboard reads: one spelling for both."""

# The event a workflow waits for now (None once it waits no more).
WAITING_FOR = "waiting_for"
# Progress of a batch: items done so far, and in all.
DONE = "done"
TOTAL = "total"
