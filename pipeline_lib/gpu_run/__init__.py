"""The paper-size device run (scripts/gpu_paper_run.sh): its params, preflight and report."""
