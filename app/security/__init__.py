"""Where outgoing requests may go."""
