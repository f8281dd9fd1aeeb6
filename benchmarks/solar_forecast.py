"""Forecast each day's total solar output with an LSTM and compare it with naive baselines.

Data: ``dllab.data.iot_solar()``: per day the first 14 half-hourly readings
(current power, energy so far), padded where a day has fewer (8..14), and the
day's total output as the target; days split by time into train / validation /
test (80 / 10 / 10 %), everything divided by training-set maxima.

Model: LSTM(24) over each day's readings (padded steps skipped via the lengths)
-> Dropout(0.2) -> Dense(1), trained on the MSE with Adam and a cosine learning
rate decay for a fixed number of epochs; the weights after the last epoch are
the ones tested (the validation days, all in summer, are reported but used for
nothing).

Baselines on the same test days:
* persistence: tomorrow = today's total (each day predicted by the previous day's total);
* mean: the mean target of the training days.

Target (issue 4): the model's test MSE at least 30 % below each baseline's, in
under 5 minutes of CPU training.

    python benchmarks/solar_forecast.py --plot forecast.png [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import dllab as dl
from dllab.layers import Dense, Dropout
from dllab.layers.recurrent import LSTM
from dllab.viz.timeseries import forecast_plot

TARGET_IMPROVEMENT = 0.30
TIME_LIMIT_S = 300


def build(hidden, dropout):
    return LSTM(hidden) >> Dropout(dropout) >> Dense(1)


def train(model, data, epochs, batch_size, lr, seed):
    """Minibatch Adam on (x, lengths) pairs; returns the per-epoch training loss."""
    x, lengths, y = data.x_train, data.len_train, data.y_train
    model((x[:1], lengths[:1]))  # build the weights before the optimizer reads them
    opt = dl.optim.Adam(model, lr=lr, schedule=dl.optim.CosineLR(epochs, min_factor=0.05))
    rng = np.random.default_rng(seed)
    losses = []
    model.train()
    for epoch in range(epochs):
        opt.set_epoch(epoch)
        order = rng.permutation(len(x))
        total = 0.0
        for start in range(0, len(x), batch_size):
            batch = order[start : start + batch_size]
            loss = dl.mse(model((x[batch], lengths[batch])), y[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(batch)
        losses.append(total / len(x))
    return losses


def predict(model, x, lengths):
    model.eval()
    with dl.no_grad():
        return model((x, lengths)).numpy().ravel()


def baselines(data):
    """Persistence (the previous day's total) and the training mean, for the test days."""
    y_all = np.concatenate([data.y_train, data.y_val, data.y_test]).ravel()
    first_test = len(data.y_train) + len(data.y_val)
    n_test = len(data.y_test)
    return {
        "persistence (yesterday's total)": y_all[first_test - 1 : first_test - 1 + n_test],
        "mean of the training days": np.full(n_test, float(data.y_train.mean())),
    }


def mse(a, b):
    return float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=24)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--epochs", type=int, default=150)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plot", help="write the forecast figure (PNG) here")
    ap.add_argument("--json", help="write the figures as JSON here")
    args = ap.parse_args(argv)

    dl.set_device("cpu")
    dl.seed(args.seed)
    data = dl.data.iot_solar()
    model = build(args.hidden, args.dropout)
    t0 = time.perf_counter()
    losses = train(model, data, args.epochs, args.batch_size, args.lr, args.seed)
    seconds = time.perf_counter() - t0

    actual = data.y_test.ravel()
    predicted = predict(model, data.x_test, data.len_test)
    val_mse = mse(predict(model, data.x_val, data.len_val), data.y_val.ravel())
    wh = float(data.scale[1])  # normalised target * wh = Wh
    rows = {"LSTM": predicted, **baselines(data)}
    results = {name: {"mse": mse(p, actual), "mse_wh2": mse(p, actual) * wh**2,
                      "rmse_wh": float(np.sqrt(mse(p, actual))) * wh} for name, p in rows.items()}  # fmt: skip
    model_mse = results["LSTM"]["mse"]
    for name, r in results.items():
        if name != "LSTM":
            r["lstm_improvement"] = 1 - model_mse / r["mse"]
    worst = min(r["lstm_improvement"] for name, r in results.items() if name != "LSTM")
    met = worst >= TARGET_IMPROVEMENT and seconds < TIME_LIMIT_S

    print(f"{data!r}")
    print(f"model: {model[0]!r} >> {model[1]!r} >> {model[2]!r}, {model.num_parameters()} parameters; "
          f"{args.epochs} epochs, batch {args.batch_size}, Adam lr {args.lr} (cosine)")
    print(f"training: {seconds:.1f} s on the CPU, final training loss {losses[-1]:.5f}; "
          f"validation MSE {val_mse:.5f}")
    print(f"\ntest days {data.dates_test[0]} .. {data.dates_test[-1]} ({len(actual)} days); "
          f"1.0 normalised = {wh:,.0f} Wh")
    print(f"{'':34s} {'MSE (normalised)':>17s} {'MSE (Wh^2)':>14s} {'RMSE (Wh)':>10s} {'LSTM better by':>15s}")
    for name, r in results.items():
        better = f"{r['lstm_improvement']:.1%}" if "lstm_improvement" in r else ""
        print(f"{name:34s} {r['mse']:17.5f} {r['mse_wh2']:14,.0f} {r['rmse_wh']:10,.0f} {better:>15s}")
    print(f"\ntarget: >= {TARGET_IMPROVEMENT:.0%} lower MSE than each baseline in < {TIME_LIMIT_S} s: "
          f"{'met' if met else 'MISSED'}")

    if args.plot:
        fig = forecast_plot(
            data.dates_test, actual * wh, predicted * wh,
            baselines={name: p * wh for name, p in rows.items() if name != "LSTM"},
            title="Daily solar output on the test days: LSTM forecast from the day's first readings",
            ylabel="day's total output (Wh)", label="LSTM",
        )  # fmt: skip
        fig.savefig(args.plot, dpi=120)
        print(f"forecast plot: {args.plot}")
    if args.json:
        out = {"results": results, "training_seconds": seconds, "validation_mse": val_mse,
               "target_met": met, "config": vars(args), "wh_per_unit": wh}  # fmt: skip
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
