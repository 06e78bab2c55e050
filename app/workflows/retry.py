"""Retry policies the workflows give their activity calls."""

from datetime import timedelta

import dapr.ext.workflow as wf

# Activities that touch the outside world retry with exponential backoff: 1 s, 2 s, 4 s...
OUTSIDE_RETRY = wf.RetryPolicy(
    first_retry_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    max_number_of_attempts=4,
    max_retry_interval=timedelta(seconds=30),
)
# In-process steps retry quickly: a failure there is rarely transient.
STEP_RETRY = wf.RetryPolicy(
    first_retry_interval=timedelta(milliseconds=250),
    backoff_coefficient=2.0,
    max_number_of_attempts=3,
)
