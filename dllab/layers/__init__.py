"""Layers: Module and everything built on it (import the names from ``dllab`` directly).

module      Module (parameters, modes, device, state_dict), Sequential and ``>>``, Activation; the input checks
dense       Dense, Dropout, Flatten
conv        Conv2D, MaxPool2D, AvgPool2D, GlobalAvgPool, BatchNorm
recurrent   LSTM, GRU, RNN, Last
init        initial weights (glorot, he)
checkpoint  the weights file: save and load (atomic), what a checkpoint records beside the weights

ShapeError, raised by layers and ops alike, lives in ``dllab.errors``.
"""

from .conv import AvgPool2D, BatchNorm, Conv2D, GlobalAvgPool, MaxPool2D
from .dense import Dense, Dropout, Flatten
from .module import Activation, Module, Sequential, ShapeError
from .recurrent import GRU, LSTM, RNN, Last

__all__ = [
    "Module", "ShapeError", "Dense", "Activation", "Dropout", "Flatten", "Sequential",
    "Conv2D", "MaxPool2D", "AvgPool2D", "GlobalAvgPool", "BatchNorm", "LSTM", "GRU", "RNN", "Last",
]
