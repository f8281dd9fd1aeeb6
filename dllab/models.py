"""Ready-made models used by the labs.

``lenet()`` is LeNet as the DIGITS lab defines it (Caffe's MNIST LeNet)::

    conv 20@5x5 -> maxpool 2 -> conv 50@5x5 -> maxpool 2 -> Dense(500, relu) -> Dense(10)

For 28x28 inputs the shapes are (N,1,28,28) -> (N,20,24,24) -> (N,20,12,12) ->
(N,50,8,8) -> (N,50,4,4) -> (N,800) -> (N,500) -> (N,10) scores (softmax is part of
the loss). The lab's "modified network" is ``lenet(filters=(75, 100), relu_after_pool1=True)``.
"""

from __future__ import annotations

from .functional import relu
from .layers import Activation, Dense, Flatten, Sequential
from .layers.conv import Conv2D, MaxPool2D


def lenet(filters=(20, 50), hidden=500, relu_after_pool1=False, classes=10, kernel_size=5):
    """Build LeNet as a Sequential (weights are created on the first batch).

    filters: output channels of the two convolutions; hidden: units of the first
    Dense layer; relu_after_pool1: insert a ReLU after the first pooling (the
    lab's modification); classes: number of output scores.
    """
    if len(filters) != 2:
        raise ValueError(f"lenet: filters must be a pair (conv1, conv2), got {filters!r}")
    layers = [Conv2D(filters[0], kernel_size, name="conv1"), MaxPool2D(2, name="pool1")]
    if relu_after_pool1:
        layers.append(Activation(relu, name="relu1"))
    layers += [
        Conv2D(filters[1], kernel_size, name="conv2"),
        MaxPool2D(2, name="pool2"),
        Flatten(),
        Dense(hidden, activation=relu, name="ip1"),
        Dense(classes, name="ip2"),
    ]
    return Sequential(*layers)


__all__ = ["lenet"]
