"""Reproducible training and evaluation of Xinh's face models (needs the `train` extra)."""
