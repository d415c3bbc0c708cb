"""Co-authored plans (issue #11)."""
