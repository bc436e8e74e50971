"""Xinh's engine: photo bytes -> decoded pixels -> faces -> aligned crops -> models -> verdict."""
