"""The flag dashboard: cohorts, staged isolation with preflight, the audit log and revert."""
