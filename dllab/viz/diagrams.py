"""Diagrams that explain a network's structure (drawn, not computed): the LSTM cell.

Returns a matplotlib Figure built without pyplot, like the rest of ``dllab.viz``.
"""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

# the colours of the four gates, shared by the boxes and the lines they drive
_GATE_COLOURS = {"f": "#d95f02", "i": "#1b9e77", "g": "#7570b3", "o": "#e7298a"}


def _arrow(ax, start, end, colour="#444444", width=1.4, style="-|>"):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=12, linewidth=width,
                                 color=colour, shrinkA=0, shrinkB=0))


def _node(ax, xy, text, colour="white", radius=0.28, fontsize=12):
    ax.add_patch(Circle(xy, radius, facecolor=colour, edgecolor="#222222", linewidth=1.2, zorder=3))
    ax.text(*xy, text, ha="center", va="center", fontsize=fontsize, zorder=4)


def _gate(ax, x, y, name, function):
    colour = _GATE_COLOURS[name]
    ax.add_patch(FancyBboxPatch((x - 0.42, y - 0.32), 0.84, 0.64, boxstyle="round,pad=0.04",
                                facecolor=colour, edgecolor="#222222", alpha=0.9, zorder=3))
    ax.text(x, y + 0.02, function, ha="center", va="center", fontsize=11, color="white", zorder=4)
    ax.text(x - 0.5, y + 0.52, f"${name}_t$", ha="center", va="center", fontsize=12, color=colour, zorder=4)


def lstm_cell_diagram(title="one step of an LSTM cell", size=(8.5, 4.6)):
    """The LSTM cell at step t: its four gates, the memory line c and the output h.

    Gate order as in ``dllab.functional.recurrent.lstm``: input i, forget f, cell candidate g,
    output o. Each gate reads the step's input x_t and the previous output h_{t-1}:

        i, f, o = sigmoid(x_t W_x* + h_{t-1} W_h* + b_*),   g = tanh(x_t W_xg + h_{t-1} W_hg + b_g)
        c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)          (* elementwise)
    """
    fig = Figure(figsize=size)
    ax = fig.add_axes((0, 0, 1, 0.9 if title else 1))
    ax.set_xlim(-0.3, 11.2)
    ax.set_ylim(-0.9, 6.6)
    ax.set_axis_off()
    ax.set_aspect("equal")

    # the cell's box
    ax.add_patch(FancyBboxPatch((1.4, 0.35), 8.3, 5.2, boxstyle="round,pad=0.1", facecolor="#f4f4f4",
                                edgecolor="#999999", linewidth=1.0, zorder=0))

    # the memory line: c_{t-1} -> (x f) -> (+ i*g) -> c_t
    y_c = 4.9
    ax.text(0.0, y_c, "$c_{t-1}$", ha="center", va="center", fontsize=13)
    _arrow(ax, (0.35, y_c), (2.72, y_c), width=2.2)
    _node(ax, (3.0, y_c), "×")
    _arrow(ax, (3.28, y_c), (5.72, y_c), width=2.2)
    _node(ax, (6.0, y_c), "+")
    _arrow(ax, (6.28, y_c), (10.6, y_c), width=2.2)
    ax.text(10.95, y_c, "$c_t$", ha="center", va="center", fontsize=13)

    # the inputs: h_{t-1} from the left, x_t from below, joined on one line under the gates
    y_in = 1.0
    ax.text(0.0, y_in, "$h_{t-1}$", ha="center", va="center", fontsize=13)
    ax.text(2.0, -0.65, "$x_t$", ha="center", va="center", fontsize=13)
    _arrow(ax, (0.45, y_in), (7.6, y_in), style="-")
    _arrow(ax, (2.0, -0.4), (2.0, y_in), style="-")

    # the gates, each fed from the input line
    y_g = 2.45
    gates = {"f": (3.0, "σ"), "i": (4.6, "σ"), "g": (5.8, "tanh"), "o": (7.6, "σ")}
    for name, (x, function) in gates.items():
        _arrow(ax, (x, y_in), (x, y_g - 0.36), colour=_GATE_COLOURS[name])
        _gate(ax, x, y_g, name, function)

    # f scales the old memory; i * g is what is written
    _arrow(ax, (3.0, y_g + 0.36), (3.0, y_c - 0.28), colour=_GATE_COLOURS["f"])
    _node(ax, (5.2, 3.75), "×")
    _arrow(ax, (4.6, y_g + 0.36), (5.0, 3.55), colour=_GATE_COLOURS["i"])
    _arrow(ax, (5.8, y_g + 0.36), (5.4, 3.55), colour=_GATE_COLOURS["g"])
    _arrow(ax, (5.3, 4.02), (5.85, y_c - 0.25))

    # output: h_t = o * tanh(c_t)
    _arrow(ax, (8.9, y_c), (8.9, 4.08))
    ax.add_patch(FancyBboxPatch((8.5, 3.48), 0.8, 0.5, boxstyle="round,pad=0.04", facecolor="white",
                                edgecolor="#222222", zorder=3))
    ax.text(8.9, 3.73, "tanh", ha="center", va="center", fontsize=10, zorder=4)
    _node(ax, (8.9, y_g), "×")
    _arrow(ax, (8.9, 3.45), (8.9, y_g + 0.28))
    _arrow(ax, (7.6 + 0.46, y_g), (8.9 - 0.28, y_g), colour=_GATE_COLOURS["o"])
    _arrow(ax, (8.9, y_g - 0.28), (8.9, y_in + 0.05), style="-")
    _arrow(ax, (8.9, y_in), (10.6, y_in), width=2.0)
    ax.text(10.95, y_in, "$h_t$", ha="center", va="center", fontsize=13)
    ax.text(9.6, y_in + 0.25, "to the next step\nand the output", ha="left", va="bottom", fontsize=8,
            color="#555555")

    legend = {"f": "forget: how much of $c_{t-1}$ to keep", "i": "input: how much to write",
              "g": "candidate: what to write", "o": "output: how much of $\\tanh(c_t)$ to show"}
    for k, (name, text) in enumerate(legend.items()):  # two rows of two, above the cell
        ax.text(1.5 + 4.4 * (k % 2), 6.35 - 0.42 * (k // 2), f"${name}_t$: " + text, ha="left", va="center",
                fontsize=9, color=_GATE_COLOURS[name])
    if title:
        fig.suptitle(title)
    return fig
