"""Figures for the labs: images with predictions, learning curves, confusion matrices, filters.

Every function returns a :class:`matplotlib.figure.Figure` (made without pyplot, so
nothing piles up in pyplot's figure list); a notebook shows it when it is the last
value of a cell, and ``fig.savefig("name.png")`` writes it to a file.
"""

from .curves import confusion_matrix_plot, learning_curves, training_curves
from .diagrams import lstm_cell_diagram
from .images import feature_maps_plot, filters_plot, image_grid, weight_templates
from .timeseries import forecast_plot

__all__ = ["confusion_matrix_plot", "feature_maps_plot", "filters_plot", "forecast_plot", "image_grid",
           "learning_curves", "lstm_cell_diagram", "training_curves", "weight_templates"]
