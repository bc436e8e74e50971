"""Xinh's model files, shipped as package data: the face model and its card (see MODEL_CARD.md)."""
