"""ShapeError: an op or a layer got an array of the wrong shape.

It lives below both ``dllab.functional`` and ``dllab.layers``, so that the one place that checks
an argument raises it, whether the op was called directly or through a layer
(``dllab.ShapeError`` and ``dllab.layers.ShapeError`` are this class). The other errors live
beside what raises them: ``DeviceError`` in ``backend``, ``DataError`` in ``data``,
``NonFiniteLossError`` in ``train``.
"""


class ShapeError(ValueError):
    """An op or a layer got an input of the wrong shape; the message names the argument and the fix."""


__all__ = ["ShapeError"]
