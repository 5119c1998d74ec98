// The page of `e2elab serve`: send an image, a clip or a sentence to /predict, show every
// pipeline's answer side by side, and on request its explanation (/explain) and stages (/stages).
// Plain JavaScript with no dependencies, so that the page works offline.
"use strict";

const BOX_COLOURS = ["#d95f02", "#1b9e77", "#7570b3", "#e7298a"];
const state = { models: [], file: null, text: null, recorder: null };

const $ = (id) => document.getElementById(id);

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function setStatus(message, isError = false) {
  $("status").textContent = message;
  $("status").classList.toggle("error", isError);
}

async function api(path, body) {
  const response = await fetch(path, body === undefined ? {} : { method: "POST", ...body });
  const data = await response.json().catch(() => ({ error: { message: `HTTP ${response.status}` } }));
  if (!response.ok) throw new Error(data.error ? data.error.message : `HTTP ${response.status}`);
  return data;
}

function formWith(file, fields = {}) {
  const form = new FormData();
  form.append("file", file, file.name);
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  return form;
}

// The request body for the input on show: the file as a form, or the sentence as JSON.
function inputBody(fields = {}) {
  if (state.file) return { body: formWith(state.file, fields) };
  return { headers: { "Content-Type": "application/json" }, body: JSON.stringify({ text: state.text, ...fields }) };
}

// ---- the loaded models ---------------------------------------------------------------------

async function loadModels() {
  const { models } = await api("/models");
  state.models = models;
  const list = $("models");
  list.replaceChildren();
  for (const model of models) {
    const training = model.training ? `trained on ${model.training.data}` : "no training record";
    const score = model.metric.value == null ? "" : `, ${model.metric.name} ${Number(model.metric.value).toFixed(3)}`;
    const stages = model.stages.map((s) => s.name).join(" \u2192 ");
    list.append(element("li", { id: `model-${model.name}` },
      element("strong", { text: model.name }), ` \u00b7 ${model.reads} \u2192 ${model.predicts}; ${training}${score}`,
      element("div", { class: "muted stage-list", text: stages })));
  }
  $("text-box").hidden = !models.some((m) => m.reads === "text");
}

// ---- sending an input ----------------------------------------------------------------------

async function sendFile(file) {
  state.file = file;
  state.text = null;
  showPreview(file);
  setStatus(`asking every model about ${file.name}\u2026`);
  try {
    const { results } = await api("/predict", inputBody());
    showResults(results);
    setStatus(`${file.name}: ${results[0].answers.length} answer(s)`);
  } catch (error) {
    $("answers").replaceChildren();
    setStatus(error.message, true);
  }
}

async function sendText() {
  state.file = null;
  state.text = $("text-input").value;
  $("preview").replaceChildren();
  setStatus("translating\u2026");
  try {
    const { results } = await api("/predict", inputBody());
    showResults(results);
    setStatus("translated");
  } catch (error) {
    setStatus(error.message, true);
  }
}

function showPreview(file) {
  const preview = $("preview");
  preview.replaceChildren();
  const url = URL.createObjectURL(file);
  if (file.type.startsWith("audio/") || /\.(wav|flac|ogg|mp3)$/i.test(file.name)) {
    preview.append(element("audio", { id: "preview-audio", controls: "", src: url }));
    return;
  }
  const canvas = element("canvas", { id: "preview-canvas" });
  const image = new Image();
  image.onload = () => {
    // Small images (a 16 x 16 digit) are scaled up with sharp pixels, large ones down to fit.
    const scale = Math.min(256 / Math.max(image.width, image.height), 8);
    canvas.width = Math.round(image.width * scale);
    canvas.height = Math.round(image.height * scale);
    canvas.dataset.scale = String(scale);
    const context = canvas.getContext("2d");
    context.imageSmoothingEnabled = scale < 1;
    context.drawImage(image, 0, 0, canvas.width, canvas.height);
  };
  image.src = url;
  preview.append(canvas);
}

// ---- answers ---------------------------------------------------------------------------------

function showResults(results) {
  const answers = $("answers");
  answers.replaceChildren();
  for (const result of results) {
    const grid = element("div", { class: "answer-grid" });
    result.answers.forEach((answer, index) => grid.append(answerCard(answer, index)));
    answers.append(element("h2", { text: `Answers for ${result.input}` }), grid);
  }
}

function answerCard(answer, index) {
  const card = element("article", { class: `answer ${answer.kind}`, id: `answer-${answer.model}` },
    element("h3", {}, answer.model, element("span", { class: `badge ${answer.kind}`, text: answer.kind })));
  const body = element("div", { class: "answer-body", id: `answer-body-${answer.model}` });
  if (answer.top) body.append(probabilities(answer));
  if (answer.text !== undefined) body.append(transcript(answer));
  if (answer.translation !== undefined) body.append(element("p", { class: "translation", text: answer.translation }));
  if (answer.boxes) {
    drawBoxes(answer.boxes, BOX_COLOURS[index % BOX_COLOURS.length]);
    body.append(element("p", { text: `${answer.boxes.length} box(es), drawn on the photo` }));
  }
  body.append(element("p", { class: "muted", text: `${(answer.seconds * 1000).toFixed(0)} ms` }));
  card.append(body);
  card.append(actions(answer.model));
  return card;
}

function probabilities(answer) {
  const list = element("ol", { class: "top" });
  for (const { label, probability } of answer.top) {
    const bar = element("span", { class: "bar" });
    bar.style.width = `${(probability * 100).toFixed(1)}%`;
    list.append(element("li", {}, element("span", { class: "label", text: label }),
      element("span", { class: "track" }, bar), element("span", { class: "value", text: probability.toFixed(3) })));
  }
  return element("div", {}, element("p", { class: "prediction", text: answer.label }), list);
}

function transcript(answer) {
  const line = element("p", { class: "prediction transcript" });
  if (!answer.words || !answer.words.length) line.textContent = answer.text || "(nothing heard)";
  for (const word of answer.words || []) {
    const span = element("span", { class: "word", text: word.word,
      title: `${word.start.toFixed(2)}\u2013${word.end.toFixed(2)} s, confidence ${word.confidence.toFixed(2)}` });
    span.style.opacity = String(0.35 + 0.65 * word.confidence);
    line.append(span, " ");
  }
  const rows = (answer.words || []).map((w) => element("tr", {},
    element("td", { text: w.word }), element("td", { text: `${w.start.toFixed(2)}\u2013${w.end.toFixed(2)} s` }),
    element("td", { text: w.confidence.toFixed(2) })));
  const table = element("table", { class: "words" },
    element("tr", {}, element("th", { text: "word" }), element("th", { text: "time" }), element("th", { text: "confidence" })),
    ...rows);
  return element("div", {}, line, rows.length ? table : "");
}

function drawBoxes(boxes, colour) {
  const canvas = $("preview-canvas");
  if (!canvas) return;
  const draw = () => {
    const scale = Number(canvas.dataset.scale || 1);
    const context = canvas.getContext("2d");
    context.strokeStyle = colour;
    context.lineWidth = 2;
    for (const box of boxes) context.strokeRect(box.x * scale, box.y * scale, box.w * scale, box.h * scale);
  };
  // The photo may still be loading; boxes are drawn once it is on the canvas.
  if (canvas.width > 0 && canvas.dataset.scale) draw(); else setTimeout(() => drawBoxes(boxes, colour), 50);
}

// ---- explanations and stages, on request -----------------------------------------------------

function actions(model) {
  const explainButton = element("button", { type: "button", id: `explain-${model}`, text: "Explain" });
  const stagesButton = element("button", { type: "button", id: `stages-${model}`, text: "Stages" });
  const explanation = element("div", { class: "explanation", id: `explanation-${model}` });
  const stages = element("div", { class: "stages", id: `stages-view-${model}` });
  explainButton.addEventListener("click", () => explain(model, explainButton, explanation));
  stagesButton.addEventListener("click", () => showStages(model, stagesButton, stages));
  return element("div", { class: "actions" }, explainButton, stagesButton, explanation, stages);
}

async function explain(model, button, target) {
  button.disabled = true;
  target.replaceChildren(element("p", { class: "muted", text: "explaining (computing maps and their trust scores)\u2026" }));
  try {
    const { explanations } = await api("/explain", inputBody({ model }));
    target.replaceChildren(...explanations.map((e) => element("figure", {},
      element("img", { src: `data:image/png;base64,${e.image}`, alt: `${e.method} explanation of ${model}` }),
      element("figcaption", {}, element("strong", { text: e.method }), " \u00b7 ",
        element("span", { class: e.trustworthy ? "trusted" : "untrusted",
          text: e.trustworthy ? "trustworthy" : `not trustworthy: ${e.reason}` })))));
  } catch (error) {
    target.replaceChildren(element("p", { class: "error", text: error.message }));
  } finally {
    button.disabled = false;
  }
}

async function showStages(model, button, target) {
  button.disabled = true;
  try {
    const { html } = await api("/stages", inputBody({ model }));
    target.innerHTML = html; // the report's diagram; every value in it is escaped by the server
  } catch (error) {
    target.replaceChildren(element("p", { class: "error", text: error.message }));
  } finally {
    button.disabled = false;
  }
}

// ---- the microphone: recorded, then encoded as 16-bit WAV, which the server reads -----------

async function toggleRecording() {
  const button = $("record-button");
  if (state.recorder) {
    state.recorder.stop();
    return;
  }
  if (!navigator.mediaDevices || !window.MediaRecorder) {
    setStatus("this browser cannot record here: microphones need this machine's own address (127.0.0.1) or HTTPS", true);
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (error) {
    setStatus(`no microphone: ${error.message}`, true);
    return;
  }
  const chunks = [];
  const recorder = new MediaRecorder(stream);
  recorder.ondataavailable = (event) => chunks.push(event.data);
  recorder.onstop = async () => {
    stream.getTracks().forEach((track) => track.stop());
    state.recorder = null;
    button.textContent = "Record from the microphone";
    const blob = new Blob(chunks, { type: recorder.mimeType });
    const context = new AudioContext();
    const decoded = await context.decodeAudioData(await blob.arrayBuffer());
    context.close();
    sendFile(new File([encodeWav(decoded)], "recording.wav", { type: "audio/wav" }));
  };
  state.recorder = recorder;
  recorder.start();
  button.textContent = "Stop recording";
  setStatus("recording\u2026 press the button again to stop");
}

function encodeWav(audioBuffer) {
  // Mono: the channels are averaged, as the server would do.
  const frames = audioBuffer.length;
  const mono = new Float32Array(frames);
  for (let c = 0; c < audioBuffer.numberOfChannels; c++) {
    const channel = audioBuffer.getChannelData(c);
    for (let i = 0; i < frames; i++) mono[i] += channel[i] / audioBuffer.numberOfChannels;
  }
  const bytes = new DataView(new ArrayBuffer(44 + 2 * frames));
  const ascii = (offset, text) => [...text].forEach((ch, i) => bytes.setUint8(offset + i, ch.charCodeAt(0)));
  ascii(0, "RIFF"); bytes.setUint32(4, 36 + 2 * frames, true); ascii(8, "WAVE");
  ascii(12, "fmt "); bytes.setUint32(16, 16, true); bytes.setUint16(20, 1, true); bytes.setUint16(22, 1, true);
  bytes.setUint32(24, audioBuffer.sampleRate, true); bytes.setUint32(28, 2 * audioBuffer.sampleRate, true);
  bytes.setUint16(32, 2, true); bytes.setUint16(34, 16, true);
  ascii(36, "data"); bytes.setUint32(40, 2 * frames, true);
  for (let i = 0; i < frames; i++) {
    const sample = Math.max(-1, Math.min(1, mono[i]));
    bytes.setInt16(44 + 2 * i, sample < 0 ? sample * 0x8000 : sample * 0x7fff, true);
  }
  return bytes.buffer;
}

// ---- wiring --------------------------------------------------------------------------------

function setUp() {
  const zone = $("drop-zone");
  $("file-input").addEventListener("change", (event) => {
    if (event.target.files.length) sendFile(event.target.files[0]);
  });
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    if (event.dataTransfer.files.length) sendFile(event.dataTransfer.files[0]);
  });
  $("record-button").addEventListener("click", toggleRecording);
  $("translate-button").addEventListener("click", sendText);
  loadModels().catch((error) => setStatus(`cannot list the models: ${error.message}`, true));
}

setUp();
