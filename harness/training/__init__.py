"""Selective fine-tuning: translation data, the trainable plan, the trainer and its launchers."""
