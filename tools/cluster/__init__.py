"""A single-node Kubernetes cluster on this machine for `tilt up` (``python -m tools.cluster``)."""
