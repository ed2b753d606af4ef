"""Measurements of how training uses the machine: host reads of tensor values, operator counts."""
