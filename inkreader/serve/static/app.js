// The inkreader web page: upload an image to /v1/lines or /v1/pages, draw the lines over
// the image (SVG in the image's own pixel coordinates), list the text with low-confidence
// characters highlighted, copy / download the text and the JSON. No build step.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG_NS = "http://www.w3.org/2000/svg";
let current = null;   // {json, lines: [{text, chars, polygon, error}], name}
let imageUrl = null;

function status(message, isError = false) {
  $("status").textContent = message;
  $("status").classList.toggle("error", isError);
}

function chosenKind() {
  return document.querySelector("input[name=kind]:checked").value;
}

// A line image is short and wide; anything else is treated as a page.
function guessKind(width, height) {
  return height <= 200 || width / height >= 5 ? "line" : "page";
}

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const img = $("image");
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("the browser cannot show this image"));
    img.src = url;
  });
}

async function readFile(file) {
  if (!file) return;
  if (imageUrl) URL.revokeObjectURL(imageUrl);
  imageUrl = URL.createObjectURL(file);
  let width = 0, height = 0;
  try {
    const img = await loadImage(imageUrl);
    width = img.naturalWidth; height = img.naturalHeight;
  } catch (e) {
    // The server decodes more formats than the browser (TIFF...): go on without a preview.
  }
  let kind = chosenKind();
  if (kind === "auto") kind = width ? guessKind(width, height) : "page";
  status(`Reading ${file.name} as ${kind === "line" ? "one line" : "a page"}...`);
  const form = new FormData();
  form.append("file", file, file.name);
  let response, body;
  try {
    response = await fetch(kind === "line" ? "/v1/lines" : "/v1/pages",
                           { method: "POST", body: form });
    body = await response.json();
  } catch (e) {
    status(`${file.name}: the server did not answer (${e.message})`, true);
    return;
  }
  if (!response.ok) {
    // the server's messages name the file already: name it once
    const detail = String(body.detail || body.error || response.statusText);
    status(detail.startsWith(`${file.name}:`) ? detail : `${file.name}: ${detail}`, true);
    return;
  }
  const [h, w] = body.size || [height, width];
  current = { json: body, name: file.name, width: width || w, height: height || h,
              lines: kind === "line" ? [lineFromResult(body, w, h)] : body.lines };
  show();
  const n = current.lines.length;
  status(`${file.name}: ${n} line${n === 1 ? "" : "s"} read` +
         (body.seconds !== undefined ? ` in ${Number(body.seconds).toFixed(2)} s.` : "."));
}

// A /v1/lines result as one page line: its box is the whole image.
function lineFromResult(r, w, h) {
  return { text: r.text, chars: r.chars, error: r.error, confidence: r.confidence,
           polygon: [[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]] };
}

function show() {
  $("result").hidden = false;
  drawOverlay();
  listLines();
  $("json").textContent = JSON.stringify(current.json, null, 1);
}

function drawOverlay() {
  const svg = $("overlay");
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${current.width} ${current.height}`);
  const size = Math.max(14, current.height / 60);
  current.lines.forEach((line, k) => {
    const poly = document.createElementNS(SVG_NS, "polygon");
    poly.setAttribute("points", line.polygon.map((p) => p.join(",")).join(" "));
    poly.setAttribute("class", "line-box");
    poly.dataset.line = k;
    svg.appendChild(poly);
    const label = document.createElementNS(SVG_NS, "text");
    const [x, y] = line.polygon.reduce(([a, b], [px, py]) => [Math.min(a, px), Math.min(b, py)],
                                       [Infinity, Infinity]);
    label.setAttribute("x", x + 2);
    label.setAttribute("y", y + size);
    label.setAttribute("font-size", size);
    label.textContent = String(k + 1);
    svg.appendChild(label);
  });
}

function listLines() {
  const threshold = Number($("threshold").value);
  const list = $("lines");
  list.replaceChildren();
  current.lines.forEach((line, k) => {
    const li = document.createElement("li");
    li.dataset.line = k;
    if (line.error) {
      li.textContent = line.error;
      li.className = "error";
    } else {
      const chars = line.chars || [];
      if (chars.map((c) => c.char).join("") === line.text) {
        for (const c of chars) {
          const span = document.createElement("span");
          span.textContent = c.char;
          span.title = `confidence ${c.confidence.toFixed(2)}`;
          if (c.confidence < threshold) span.className = "low";
          li.appendChild(span);
        }
      } else {
        li.textContent = line.text;
      }
      if (!line.text) li.appendChild(document.createTextNode("\u00a0"));
    }
    li.addEventListener("mouseenter", () => highlight(k, true));
    li.addEventListener("mouseleave", () => highlight(k, false));
    list.appendChild(li);
  });
}

function highlight(k, on) {
  document.querySelectorAll(`[data-line="${k}"]`).forEach((el) => el.classList.toggle("hot", on));
}

function plainText() {
  return current.lines.filter((l) => !l.error).map((l) => l.text).join("\n") + "\n";
}

function jsonText() {
  return JSON.stringify(current.json, null, 1) + "\n";
}

function download(text, suffix, type) {
  const stem = current.name.replace(/\.[^.]*$/, "") || "inkreader";
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = stem + suffix;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

async function copy(text, what) {
  try {
    await navigator.clipboard.writeText(text);
    status(`${what} copied.`);
  } catch (e) {
    status(`cannot copy the ${what.toLowerCase()} here (${e.message}); use Download`, true);
  }
}

function setup() {
  $("file").addEventListener("change", (e) => readFile(e.target.files[0]));
  const drop = $("drop");
  for (const ev of ["dragenter", "dragover"]) {
    drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.add("over"); });
  }
  for (const ev of ["dragleave", "drop"]) {
    drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.remove("over"); });
  }
  drop.addEventListener("drop", (e) => readFile(e.dataTransfer.files[0]));
  $("threshold").addEventListener("input", () => {
    $("threshold-value").textContent = Number($("threshold").value).toFixed(2);
    if (current) listLines();
  });
  $("copy-text").addEventListener("click", () => copy(plainText(), "Text"));
  $("copy-json").addEventListener("click", () => copy(jsonText(), "JSON"));
  $("download-text").addEventListener("click", () => download(plainText(), ".txt", "text/plain"));
  $("download-json").addEventListener("click",
    () => download(jsonText(), ".json", "application/json"));
}

setup();
