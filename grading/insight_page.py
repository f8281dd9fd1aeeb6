"""The debrief page of a graded lab: its figures (PNG, embedded) and its HTML (``grading.insight`` writes it).

One self-contained page: figures embedded as data URIs, no script, nothing fetched.
"""

from __future__ import annotations

import base64
import html
import io


# ---- figures -------------------------------------------------------------------------------------------
def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def figure_pass_rates(rates):
    """``rates``: (test, pass rate, hidden) in the lab's order -> the figure (first test at the top)."""
    plt = _pyplot()
    height = max(2.4, 0.32 * len(rates) + 1.0)
    fig, ax = plt.subplots(figsize=(7.5, height), dpi=90)
    names = [f"{name} (hidden)" if hidden else name for name, _, hidden in rates]
    values = [100 * rate for _, rate, _ in rates]
    colours = [plt.cm.RdYlGn(min(max(v / 100, 0), 1) * 0.85 + 0.075) for v in values]
    y = list(range(len(rates)))
    ax.barh(y, values, color=colours, edgecolor="#444", linewidth=0.5)
    for yi, v in zip(y, values):
        inside = v > 90
        ax.text(v - 1.5 if inside else v + 1.5, yi, f"{v:.0f}%", va="center", ha="right" if inside else "left",
                fontsize=8, color="white" if inside else "black")
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("attendees who passed (%)")
    ax.set_title("Pass rate per test, in the lab's order")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def figure_scores(scores, max_score):
    """Histogram of the total scores (None: not scored)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 2.8), dpi=90)
    values = [s for s in scores if s is not None]
    top = max(max_score or 0, max(values, default=0), 1)
    bins = [i - 0.5 for i in range(int(top) + 2)]
    ax.hist(values, bins=bins, color="#4c72b0", edgecolor="white")
    if values:
        mean = sum(values) / len(values)
        ax.axvline(mean, color="#c44e52", linestyle="--", linewidth=1, label=f"mean {mean:.1f}")
        ax.legend(fontsize=8, loc="upper left")
    ax.set_xlim(-0.5, top + 0.5)
    ax.set_xlabel(f"score (of {max_score:g})" if max_score else "score")
    ax.set_ylabel("attendees")
    ax.set_title("Score distribution")
    ax.yaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    return fig


def png_uri(fig):
    plt = _pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


# ---- the page ------------------------------------------------------------------------------------------
CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 62em; color: #222; line-height: 1.4 }
h1 { font-size: 1.5em } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ccc }
table { border-collapse: collapse; margin: .5em 0 } td, th { padding: .2em .6em; border-bottom: 1px solid #eee;
  text-align: left; vertical-align: top } th { background: #f4f4f4 }
.num { text-align: right; font-variant-numeric: tabular-nums } .nowrap { white-space: nowrap }
.bar { display: inline-block; height: .8em; background: #4c72b0; vertical-align: middle }
.test { margin: 1em 0; padding: .4em .8em; border-left: 4px solid #ddd }
.test.low { border-color: #c44e52 } .test.mid { border-color: #dd8452 } .test.high { border-color: #55a868 }
pre { white-space: pre-wrap; background: #f7f7f7; padding: .4em; margin: .2em 0; font-size: .85em }
.muted { color: #777 } img.figure { max-width: 100%; display: block; margin: .5em 0 }
details { margin: .2em 0 .6em } summary { cursor: pointer; color: #555 }
"""
MESSAGE_CHARS = 1200  # of a mistake's message shown on the page


def _e(value):
    return html.escape(str(value))


def _pct(rate):
    return f"{100 * rate:.0f}%"


def render(data, figures):
    """The page, from :func:`collect`'s data and the figures' data URIs."""
    n = len(data["attendees"])
    tests = data["tests"]
    parts = [f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{_e(data['lab'])}: what the "
             f"class got wrong</title><style>{CSS}</style></head><body>",
             f"<h1>{_e(data['lab'])}: what the class got wrong</h1>",
             f"<p class='muted'>{n} graded hand-ins; written {_e(data['time'])} by "
             "<code>python -m grading insight</code>. "
             "Attendees' names are folded under each mistake: this page is the instructor's.</p>"]
    scores = [s for s in data["scores"].values() if s is not None]
    if scores:
        ordered = sorted(scores)
        median = ordered[len(ordered) // 2] if len(ordered) % 2 else (ordered[len(ordered) // 2 - 1]
                                                                       + ordered[len(ordered) // 2]) / 2
        parts.append(f"<p>Score: mean {sum(scores) / len(scores):.1f}, median {median:g}, of {data['max_score']:g} "
                     f"({data['autograded_points']:g} autograded).</p>")
    hardest = sorted((t for t in tests if t["graded"]), key=lambda t: (t["pass_rate"], tests.index(t)))[:3]
    if hardest:
        parts.append("<p>Hardest tests: " + ", ".join(f"<a href='#{_e(t['id'])}'>{_e(t['id'])}</a> "
                                                       f"({_pct(t['pass_rate'])} passed)" for t in hardest) + ".</p>")
    parts += [f"<img class='figure' alt='pass rate per test' src='{figures['pass_rates']}'>",
              f"<img class='figure' alt='score distribution' src='{figures['scores']}'>"]

    parts.append("<h2>Tests</h2><table><tr><th>test</th><th class='num'>points</th><th>passed</th>"
                 "<th>points distribution</th><th>most common mistake</th></tr>")
    for t in tests:
        dist = ", ".join(f"{k}: {v}" for k, v in t["points_distribution"].items())
        top = t["mistakes"][0] if t["mistakes"] else None
        first = (top["message"].strip().splitlines() or [""])[0] if top else ""
        top_text = (f"{top['count']}× {_e(first[:110])}{'…' if len(first) > 110 else ''}") if top else ""
        hidden = " <span class='muted'>(hidden)</span>" if t["hidden"] else ""
        parts.append(f"<tr><td><a href='#{_e(t['id'])}'>{_e(t['id'])}</a>{hidden}</td>"
                     f"<td class='num'>{t['points']:g}</td><td class='nowrap'><span class='bar' style='width:"
                     f"{4 * t['pass_rate']:.2f}em'></span> {t['passed']}/{t['graded']} ({_pct(t['pass_rate'])})</td>"
                     f"<td>{_e(dist)}</td><td>{top_text}</td></tr>")
    parts.append("</table>")

    parts.append("<h2>Mistakes, test by test</h2>")
    for t in tests:
        level = "low" if t["pass_rate"] < 0.5 else "mid" if t["pass_rate"] < 0.8 else "high"
        parts.append(f"<div class='test {level}' id='{_e(t['id'])}'><h3>{_e(t['id'])}"
                     f"{' (hidden)' if t['hidden'] else ''}: {t['passed']}/{t['graded']} passed "
                     f"({_pct(t['pass_rate'])}), {t['points']:g} points</h3>")
        if not t["mistakes"]:
            parts.append("<p class='muted'>Everyone passed.</p>")
        for g in t["mistakes"]:
            message = g["message"].strip()
            shown = message[:MESSAGE_CHARS] + ("…" if len(message) > MESSAGE_CHARS else "")
            variants = f", {g['wordings']} wordings" if g["wordings"] > 1 else ""
            parts.append(f"<p><b>{g['count']}</b> of {t['graded']} ({_pct(g['count'] / max(t['graded'], 1))}): "
                         f"<code>{_e(g['ename'])}</code>{variants}</p><pre>{_e(shown)}</pre>"
                         f"<details><summary>attendees ({g['count']})</summary>{_e(', '.join(g['attendees']))}"
                         "</details>")
        parts.append("</div>")

    parts.append("<h2>Written answers</h2>")
    if not data["written"]:
        parts.append("<p class='muted'>This lab has no written answers.</p>")
    elif not any(w["graded_by_hand"] for w in data["written"]):
        parts.append("<p class='muted'>No written answer has been graded by hand yet (step 4).</p>")
    if data["written"]:
        parts.append("<table><tr><th>answer</th><th class='num'>points</th><th>graded</th><th>by hand</th>"
                     "<th>mean</th><th>points distribution</th></tr>")
        for w in data["written"]:
            mean = "-" if w["mean"] is None else f"{w['mean']:.2f}"
            dist = ", ".join(f"{k}: {v}" for k, v in w["points_distribution"].items())
            parts.append(f"<tr><td>{_e(w['id'])}</td><td class='num'>{w['points']:g}</td><td>{w['marked']}/{n}</td>"
                         f"<td>{w['graded_by_hand']}</td><td>{mean}</td><td>{_e(dist)}</td></tr>")
        parts.append("</table>")

    integrity, not_graded = data["integrity"], data["not_graded"]
    parts.append("<h2>Integrity and hand-ins not graded</h2>")
    if not integrity["report"]:
        parts.append("<p class='muted'>No reports/&lt;lab&gt;/report.json: run <code>python -m grading report "
                     f"{_e(data['lab'])}</code> for the integrity flags.</p>")
    else:
        verdicts = ", ".join(f"{_e(k)}: {v}" for k, v in sorted(integrity["verdicts"].items()))
        parts.append(f"<p>Verdicts: {verdicts or 'none'} (details in <code>report.md</code>).</p>")
        if integrity["check_reasons"]:
            parts.append("<table><tr><th>reason for <code>check</code></th><th class='num'>hand-ins</th>"
                         "<th>attendees</th></tr>")
            for reason, entry in integrity["check_reasons"].items():
                parts.append(f"<tr><td>{_e(reason)}</td><td class='num'>{entry['count']}</td><td><details><summary>"
                             f"names</summary>{_e(', '.join(entry['attendees']))}</details></td></tr>")
            parts.append("</table>")
    if not_graded["attendees"] or not_graded["rejected_archives"]:
        parts.append("<table><tr><th>not graded</th><th>why</th></tr>")
        for name, why in sorted(not_graded["attendees"].items()):
            parts.append(f"<tr><td>{_e(name)}</td><td>{_e(why)}</td></tr>")
        for name, why in sorted(not_graded["rejected_archives"].items()):
            parts.append(f"<tr><td>archive {_e(name)}</td><td>{_e(why)}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p class='muted'>Every hand-in was graded.</p>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
