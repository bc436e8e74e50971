"""Xinh: the `xinh` command and its settings."""
