"""Reporting: published baselines, tables in many formats, plots, and `harness compare`."""
