"""Layers: Module and everything built on it (import the names from ``dllab`` directly)."""

from .core import (
    Activation,
    Dense,
    Dropout,
    Flatten,
    Module,
    Sequential,
    ShapeError,
)

__all__ = ["Module", "ShapeError", "Dense", "Activation", "Dropout", "Flatten", "Sequential"]
