"""Pandera schemas: the structure, types and ranges every profile's records must have."""
