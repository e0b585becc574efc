"""Reporting: the paper's tables (``tables``, ``results``, ``significance``) and figures from the pipeline's metrics."""
