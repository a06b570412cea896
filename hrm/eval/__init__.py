"""Evaluation: verifier-checked accuracy, Pass@k, statistics, and model comparison.

Light to import: torch is loaded only by the modules that run models (sampling, evaluate).
"""
