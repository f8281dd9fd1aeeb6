"""Layers: Module and everything built on it (import the names from ``dllab`` directly)."""

from .conv import AvgPool2D, BatchNorm, Conv2D, GlobalAvgPool, MaxPool2D
from .core import (
    Activation,
    Dense,
    Dropout,
    Flatten,
    Module,
    Sequential,
    ShapeError,
)
from .recurrent import GRU, LSTM, RNN, Last

__all__ = [
    "Module", "ShapeError", "Dense", "Activation", "Dropout", "Flatten", "Sequential",
    "Conv2D", "MaxPool2D", "AvgPool2D", "GlobalAvgPool", "BatchNorm", "LSTM", "GRU", "RNN", "Last",
]
