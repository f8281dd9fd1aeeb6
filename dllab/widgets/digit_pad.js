const GRID = 28, SIZE = 280, SCALE = SIZE / GRID;

function el_(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function render({ model, el }) {
  el.classList.add("dllab-digitpad");
  const left = el_("div", "dllab-pad-left"), middle = el_("div", "dllab-pad-middle");
  const right = el_("div", "dllab-pad-right");
  el.append(left, middle, right);

  // the drawing area: what the pen draws, redrawn from the strokes the model holds
  const canvas = el_("canvas", "dllab-pad-canvas");
  canvas.width = canvas.height = SIZE;
  const ctx = canvas.getContext("2d");
  const buttons = el_("div", "dllab-pad-buttons");
  const clear = el_("button", "dllab-pad-clear jupyter-button", "Clear");
  const hint = el_("span", "dllab-pad-hint", "draw a digit with the mouse");
  buttons.append(clear, hint);
  left.append(canvas, buttons);

  // what the model sees: the 28x28 image after MNIST-like scaling and centring
  middle.append(el_("div", "dllab-pad-title", "the model sees"));
  const seen = el_("canvas", "dllab-pad-seen");
  seen.width = seen.height = GRID;
  middle.append(seen);

  const bars = el_("div", "dllab-pad-bars");
  right.append(el_("div", "dllab-pad-title", "class probabilities"), bars);
  const message = el_("div", "dllab-pad-message");
  right.append(message);

  let current = null;  // the stroke being drawn, in pad coordinates (0..28)

  function stroke(points) {
    if (!points.length) return;
    ctx.beginPath();
    ctx.moveTo(points[0][0] * SCALE, points[0][1] * SCALE);
    for (const [x, y] of points) ctx.lineTo(x * SCALE, y * SCALE);
    if (points.length === 1) ctx.lineTo(points[0][0] * SCALE + 0.1, points[0][1] * SCALE);
    ctx.stroke();
  }

  function redraw() {
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, SIZE, SIZE);
    ctx.strokeStyle = "rgba(255,255,255,0.08)";
    ctx.lineWidth = 1;
    for (let i = 1; i < GRID; i++) {
      ctx.beginPath(); ctx.moveTo(i * SCALE, 0); ctx.lineTo(i * SCALE, SIZE); ctx.stroke();
      ctx.beginPath(); ctx.moveTo(0, i * SCALE); ctx.lineTo(SIZE, i * SCALE); ctx.stroke();
    }
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = model.get("brush") * SCALE;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    for (const s of model.get("strokes")) stroke(s);
    if (current) stroke(current);
  }

  function drawSeen() {
    const pixels = model.get("preview");
    const img = seen.getContext("2d").createImageData(GRID, GRID);
    for (let i = 0; i < GRID * GRID; i++) {
      const v = Math.round(255 * (pixels.length ? pixels[i] : 0));
      img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = v;
      img.data[4 * i + 3] = 255;
    }
    seen.getContext("2d").putImageData(img, 0, 0);
  }

  function drawBars() {
    const probs = model.get("probabilities"), labels = model.get("labels");
    bars.replaceChildren();
    const best = probs.length ? probs.indexOf(Math.max(...probs)) : -1;
    labels.forEach((label, k) => {
      const p = probs.length ? probs[k] : 0;
      const row = el_("div", "dllab-prob" + (k === best ? " dllab-prob-best" : ""));
      const bar = el_("div", "dllab-prob-bar");
      bar.style.width = (100 * p).toFixed(1) + "%";
      const track = el_("div", "dllab-prob-track");
      track.append(bar);
      row.append(el_("span", "dllab-prob-label", label), track,
                 el_("span", "dllab-prob-value", probs.length ? (100 * p).toFixed(1) + " %" : ""));
      bars.append(row);
    });
    hint.textContent = best >= 0 ? "prediction: " + labels[best] : "draw a digit with the mouse";
  }

  function pos(ev) {
    const r = canvas.getBoundingClientRect();
    const x = (ev.clientX - r.left) * GRID / r.width, y = (ev.clientY - r.top) * GRID / r.height;
    return [Math.round(x * 100) / 100, Math.round(y * 100) / 100];
  }
  function down(ev) {
    ev.preventDefault();
    canvas.setPointerCapture(ev.pointerId);
    current = [pos(ev)];
    redraw();
  }
  function move(ev) {
    if (!current) return;
    current.push(pos(ev));
    redraw();
  }
  function up() {
    if (!current) return;
    const done = current;
    current = null;
    model.set("strokes", [...model.get("strokes"), done]);
    model.save_changes();
  }
  canvas.addEventListener("pointerdown", down);
  canvas.addEventListener("pointermove", move);
  canvas.addEventListener("pointerup", up);
  canvas.addEventListener("pointercancel", up);
  clear.addEventListener("click", () => {
    current = null;
    model.set("strokes", []);
    model.save_changes();
    redraw();
  });

  const onStrokes = () => redraw();
  const onProbs = () => drawBars();
  const onPreview = () => drawSeen();
  const onMessage = () => { message.textContent = model.get("message"); };
  model.on("change:strokes", onStrokes);
  model.on("change:probabilities", onProbs);
  model.on("change:preview", onPreview);
  model.on("change:message", onMessage);
  redraw(); drawBars(); drawSeen(); onMessage();
  return () => {
    model.off("change:strokes", onStrokes);
    model.off("change:probabilities", onProbs);
    model.off("change:preview", onPreview);
    model.off("change:message", onMessage);
  };
}

export default { render };
