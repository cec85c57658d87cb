"""Evaluation: lm-eval on the recipe's tasks, our answer extraction and scoring, re-scoring, GPU sharding."""
