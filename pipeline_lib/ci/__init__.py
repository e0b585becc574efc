"""Checks that CI runs on the demo pipeline: the metric-diff gate, the seed-spread measurement behind its tolerances, stage timings."""
