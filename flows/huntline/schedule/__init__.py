"""Runs without a person: scheduled windows, the coverage record, deployments and backfill."""
