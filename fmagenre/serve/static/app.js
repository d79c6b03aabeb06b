// The page of `fmagenre serve`: lists the trained models, sends each dropped file to
// POST /api/predict on its own (one progress bar per file) and draws the answer.
"use strict";

const $ = (id) => document.getElementById(id);
const modelSelect = $("model");

function element(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

function score(value) {
  return value === null || value === undefined ? "n/a" : value.toFixed(3);
}

async function loadModels() {
  const answer = await (await fetch("/api/models")).json();
  modelSelect.replaceChildren();
  for (const model of answer.models) {
    const label = `${model.title}${model.best ? " (best)" : ""}: validation macro-F1 ` +
      `${score(model.validation_macro_f1)}, test macro-F1 ${score(model.test_macro_f1)}`;
    const option = element("option", { value: model.name }, label);
    if (model.name === answer.default) option.selected = true;
    modelSelect.append(option);
  }
  if (!answer.models.length) {
    modelSelect.append(element("option", { value: "" }, "no trained model (tags only)"));
    modelSelect.disabled = true;
    $("no-model").textContent = answer.message;
    $("no-model").hidden = false;
  } else {
    $("scores").textContent = "Scores from this run's leaderboard (the best model is chosen on " +
      "validation; test is reported, never used to choose).";
  }
  $("limit").textContent = `${answer.max_upload_mb} MB`;
  if (answer.figure) {
    $("figure").src = answer.figure;
    $("run").hidden = false;
  }
}

function bars(title, rows, key, extraClass) {
  const box = element("div", { class: `bars ${extraClass}` });
  box.append(element("h4", {}, title));
  rows.forEach((row, index) => {
    const line = element("div", { class: index === 0 ? "bar top" : "bar" });
    const percent = (100 * row.probability).toFixed(1);
    const track = element("span", { class: "track" });
    const fill = element("span", { class: "fill" });
    fill.style.width = `${Math.max(0.5, 100 * row.probability)}%`;
    fill.style.display = "block";
    track.append(fill);
    line.append(element("span", { class: "label" }, row[key]), track,
      element("span", { class: "value" }, `${percent}%`));
    box.append(line);
  });
  return box;
}

function show(card, item) {
  const status = card.querySelector(".status");
  status.textContent = item.model
    ? `${item.model}: ${item.predictions[0].genre} — heard ${item.seconds.toFixed(1)} s ` +
      `(clips of ${item.clip_seconds} s, from the centre)`
    : `tags only; heard ${item.seconds.toFixed(1)} s (clips of ${item.clip_seconds} s)`;
  const grid = element("div", { class: "grid" });
  if (item.model) {
    grid.append(bars(`genres (${item.model})`, item.predictions, "genre", "genres"));
  } else {
    const box = element("div", { class: "genres" });
    box.append(element("h4", {}, "genres"), element("p", { class: "message" }, item.model_error));
    grid.append(box);
  }
  if (item.tags.predictions.length) {
    grid.append(bars("musicnn tags", item.tags.predictions, "tag", "tags"));
  } else {
    grid.append(element("p", { class: "error" }, `musicnn: ${item.tags.error}`));
  }
  if (item.spectrogram) {
    const box = element("div", { class: "spectrogram" });
    box.append(element("h4", {}, "log-mel spectrogram of the clip heard"),
      element("img", { src: item.spectrogram, alt: `log-mel spectrogram of ${item.path}` }));
    grid.append(box);
  }
  card.append(grid);
  for (const note of [item.note, ...(item.model_notes || [])].filter(Boolean)) {
    card.append(element("p", { class: "note" }, note));
  }
}

function fail(card, message) {
  const status = card.querySelector(".status");
  status.textContent = message;
  status.classList.add("error");
}

function analyse(file) {
  const card = element("div", { class: "file" });
  card.append(element("h3", {}, file.name));
  const status = element("span", { class: "status" }, "waiting");
  const progress = element("progress", { max: "100", value: "0" });
  card.append(status, progress);
  $("results").prepend(card);

  const form = new FormData();
  form.append("file", file, file.name);
  const query = new URLSearchParams({ top_k: "50", tags: "5" });
  if (modelSelect.value) query.set("model", modelSelect.value);
  const request = new XMLHttpRequest();
  request.open("POST", `/api/predict?${query}`);
  request.responseType = "json";
  request.upload.onprogress = (event) => {
    if (event.lengthComputable) {
      progress.value = (100 * event.loaded) / event.total;
      status.textContent = `uploading ${Math.round(progress.value)}%`;
    }
  };
  request.upload.onload = () => {
    progress.removeAttribute("value"); // indeterminate while the server works
    status.textContent = "analysing…";
  };
  request.onload = () => {
    progress.remove();
    const body = request.response;
    if (request.status === 200 && Array.isArray(body)) show(card, body[0]);
    else fail(card, (body && body.error) || `the server answered ${request.status}`);
  };
  request.onerror = () => {
    progress.remove();
    fail(card, "the server could not be reached");
  };
  request.send(form);
}

function analyseAll(files) {
  for (const file of files) analyse(file);
}

const drop = $("drop");
drop.addEventListener("dragover", (event) => {
  event.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  analyseAll(event.dataTransfer.files);
});
$("files").addEventListener("change", (event) => {
  analyseAll(event.target.files);
  event.target.value = "";
});
loadModels().catch(() => {
  $("no-model").textContent = "could not list the models: is the server still running?";
  $("no-model").hidden = false;
});
