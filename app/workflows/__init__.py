"""One module per pattern: the workflow, its activities and its models."""

# The registered names, a wire contract with running instances (see app/runtime.py).
WORKFLOW_NAMES = ("task_chaining", "fan_out_fan_in", "hybrid", "monitor", "purchase_approval")
