"""Pulling drops from municipalities that do not push (issue #16): config/sources.yaml."""
