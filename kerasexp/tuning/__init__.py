"""Optuna studies: study files (config.py), storage (storage.py), workers and trials (run.py),
reports (report.py)."""
