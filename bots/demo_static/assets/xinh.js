// The demo page: choose, drop or paste a photo, send it, show Xinh's reply, try again.
// Every word shown comes from the server-rendered page (data-* attributes) or the reply.
"use strict";

const page = document.body.dataset;
const language = document.documentElement.lang;
const form = document.getElementById("upload");
const input = document.getElementById("photo");
const drop = document.getElementById("drop");
const preview = document.getElementById("preview");
const fileName = document.getElementById("file-name");
const go = document.getElementById("go");
const status = document.getElementById("status");
const result = document.getElementById("result");
const resultImage = document.getElementById("result-image");
const resultText = document.getElementById("result-text");
const again = document.getElementById("again");

let chosen = null;

function choose(file) {
  chosen = file;
  URL.revokeObjectURL(preview.src);
  const isImage = file.type.startsWith("image/");
  preview.hidden = !isImage;
  preview.src = isImage ? URL.createObjectURL(file) : "";
  fileName.textContent = file.name;
  drop.classList.add("chosen");
}

function paragraph(text, className) {
  const p = document.createElement("p");
  p.className = className;
  p.textContent = text;
  return p;
}

// A verdict: its first line is the headline and its last block the fine print. An error: one block.
function show(answer) {
  const parts = [];
  if (answer.error) {
    parts.push(paragraph(answer.text, "lead"));
  } else {
    const blocks = answer.text.split("\n\n");
    const fine = blocks.length > 1 ? blocks.pop() : null;
    const [headline, ...rest] = blocks.join("\n\n").split("\n");
    parts.push(paragraph(headline, "headline"));
    if (rest.length) parts.push(paragraph(rest.join("\n"), "lead"));
    if (fine) parts.push(paragraph(fine, "fine"));
  }
  resultText.replaceChildren(...parts);
  result.dataset.outcome = answer.outcome;
  result.classList.toggle("is-error", answer.error);
  resultImage.hidden = !answer.image;
  form.hidden = true;
  result.hidden = false;
  result.focus({ preventScroll: true });
  // Bring the verdict into view once the photo above it has its height.
  const reveal = () => result.scrollIntoView({ block: "start" });
  if (answer.image) {
    resultImage.addEventListener("load", reveal, { once: true });
    resultImage.src = answer.image;
  } else {
    resultImage.removeAttribute("src");
    reveal();
  }
}

function setBusy(busy) {
  go.disabled = busy;
  form.classList.toggle("busy", busy);
  status.textContent = busy ? page.working : "";
}

async function send() {
  if (chosen.size > Number(page.maxBytes)) {
    show({ outcome: "too_large", error: true, text: page.tooLarge, image: null });
    return;
  }
  setBusy(true);
  try {
    const response = await fetch(`/api/rate?lang=${encodeURIComponent(language)}`, {
      method: "POST",
      headers: { "Content-Type": chosen.type || "application/octet-stream" },
      body: chosen,
    });
    show(await response.json());
  } catch {
    show({ outcome: "failed", error: true, text: page.failed, image: null });
  } finally {
    setBusy(false);
  }
}

function reset() {
  chosen = null;
  form.reset();
  URL.revokeObjectURL(preview.src);
  preview.hidden = true;
  preview.removeAttribute("src");
  fileName.textContent = "";
  drop.classList.remove("chosen");
  result.hidden = true;
  form.hidden = false;
  input.focus();
}

input.addEventListener("change", () => {
  if (input.files.length) choose(input.files[0]);
});

for (const type of ["dragenter", "dragover"]) {
  drop.addEventListener(type, (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
}
for (const type of ["dragleave", "drop"]) {
  drop.addEventListener(type, () => drop.classList.remove("over"));
}
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  if (event.dataTransfer.files.length) choose(event.dataTransfer.files[0]);
});

document.addEventListener("paste", (event) => {
  const file = [...event.clipboardData.files][0];
  if (file && !form.hidden) choose(file);
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (chosen) send();
  else input.click();
});

again.addEventListener("click", reset);
