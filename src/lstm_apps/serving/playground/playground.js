// What every app's form shares: building inputs, calling the API, showing errors.
// Plain JavaScript, no build step; each app's app.js calls playground.mount(build).
"use strict";

const playground = (() => {
  const $ = (id) => document.getElementById(id);

  function element(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (name === "text") node.textContent = value;
      else if (name === "class") node.className = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else if (value !== false && value !== null && value !== undefined) node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children) node.append(child);
    return node;
  }

  function field(labelText, input) {
    return element("label", {}, labelText, input);
  }

  function numberInput(id, value, min, max, step = 1) {
    return element("input", { id, type: "number", value, min, max, step });
  }

  function showError(message) {
    const box = $("error");
    box.textContent = message;
    box.hidden = !message;
  }

  function status(message) {
    $("status").textContent = message || "";
  }

  async function answerOf(response) {
    const text = await response.text();
    let body;
    try { body = JSON.parse(text); } catch { body = { detail: text }; }
    if (!response.ok) {
      const detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
      throw new Error(`${response.status}: ${detail}`);
    }
    return body;
  }

  async function postJSON(path, body) {
    return answerOf(await fetch(path, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    }));
  }

  async function postForm(path, formData) {
    return answerOf(await fetch(path, { method: "POST", body: formData }));
  }

  // Calls onPiece(object) for each line of a newline-delimited JSON answer, as it arrives.
  async function streamJSON(path, body, onPiece) {
    const response = await fetch(path, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    if (!response.ok) return answerOf(response);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let pending = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      pending += decoder.decode(value, { stream: true });
      let end;
      while ((end = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, end).trim();
        pending = pending.slice(end + 1);
        if (line) onPiece(JSON.parse(line));
      }
    }
    if (pending.trim()) onPiece(JSON.parse(pending));
  }

  // A colour from white to the accent for a weight in [0, 1].
  function heat(weight) {
    const w = Math.max(0, Math.min(1, weight));
    return `rgba(53, 89, 224, ${w.toFixed(3)})`;
  }

  let info = null;

  // A background for a cell's value: blue below zero, red above (values scaled to [-1, 1]).
  function cellColour(value) {
    const v = Math.max(-1, Math.min(1, value));
    const fade = Math.round(255 * (1 - Math.abs(v)));
    return v > 0 ? `rgb(255,${fade},${fade})` : `rgb(${fade},${fade},255)`;
  }

  // The "inside" view of a text app (POST inside): the input's pieces; hovering one shows the cells
  // most active there, each as the whole input coloured by its value (Karpathy's picture).
  function mountInside(main, form) {
    const text = element("textarea", { id: "inside-text", placeholder: "a text to look inside the network with" });
    const button = element("button", { id: "inside-submit", type: "button", class: "secondary", text: "Look inside" });
    const steps = element("div", { id: "inside-steps", class: "inside-steps" });
    const cells = element("div", { id: "inside-cells" });
    const section = element("section", { id: "inside", class: "inside" },
      element("h2", { text: "Inside the network" }),
      element("p", { class: "muted", text: "Hover a piece of the input: the cells most active there, along the whole input." }),
      text, button, steps, cells);
    main.append(section);
    const firstText = form.querySelector("textarea, input[type=text]");
    button.addEventListener("click", async () => {
      showError("");
      button.disabled = true;
      try {
        if (!text.value && firstText) text.value = firstText.value;
        const answer = await postJSON("inside", { text: text.value });
        const scale = answer.values.map((row) => Math.max(1, ...row.map(Math.abs)));
        const show = (at) => {
          const ranked = answer.values.map((row, cell) => [Math.abs(row[at]) / scale[cell], cell])
            .sort((a, b) => b[0] - a[0]).slice(0, 5);
          cells.replaceChildren(...ranked.map(([, cell]) => element("div", { class: "cell-row", "data-cell": cell },
            element("span", { class: "cell-name", text: `${answer.state}[${cell}]` }),
            element("pre", { class: "cell-text" }, ...answer.steps.map((piece, i) => element("span", {
              text: piece, title: answer.values[cell][i].toFixed(3),
              style: `background:${cellColour(answer.values[cell][i] / scale[cell])}`,
            }))))));
          cells.dataset.step = String(at);
        };
        steps.replaceChildren(...answer.steps.map((piece, i) => element("span", {
          class: "inside-step", "data-step": i, text: piece, onmouseenter: () => show(i),
        })));
        steps.dataset.state = answer.state;
      } catch (error) {
        showError(error.message);
      } finally {
        button.disabled = false;
        document.body.dataset.insideFinished = String(Number(document.body.dataset.insideFinished || 0) + 1);
      }
    });
  }

  // build(form, result, model) fills the form and returns { label, run }: the button's text and
  // the submit handler (async, throws an Error whose message is shown).
  async function mount(build) {
    try {
      info = await (await fetch("info")).json();
    } catch {
      info = { model: {} };
    }
    const model = info.model || {};
    $("checkpoint").textContent = `${model.checkpoint || ""} · lstm-apps ${model.version || ""}`;
    const form = $("form");
    const result = $("result");
    const { label, run } = build(form, result, model);
    const button = element("button", { id: "submit", type: "submit", text: label });
    form.append(button);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      showError("");
      button.disabled = true;
      status("working…");
      const started = performance.now();
      try {
        await run();
        status(`answered in ${Math.round(performance.now() - started)} ms`);
      } catch (error) {
        status("");
        showError(error.message);
      } finally {
        button.disabled = false;
        // How many submissions have finished: lets a page driver wait for this one.
        document.body.dataset.finished = String(Number(document.body.dataset.finished || 0) + 1);
      }
    });
    const endpoints = Object.keys(model.endpoints || {});
    if (endpoints.some((path) => path.endsWith("/inside"))) mountInside(form.parentElement, form);
    document.body.dataset.ready = "true";
  }

  return { element, field, numberInput, postJSON, postForm, streamJSON, heat, mount, showError, status, $ };
})();
