"""One module per pattern: the workflow, its activities and its models."""
