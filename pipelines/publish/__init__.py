"""Publish: suppress small cells, then swap the published files in atomically."""
