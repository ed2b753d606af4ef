// textgen's playground form: a prompt in, the text streamed out as it is sampled.
"use strict";
playground.mount((form, result) => {
  const { element, field, numberInput, streamJSON } = playground;
  const prompt = element("textarea", { id: "prompt", placeholder: "a prompt (empty: start a new document)" });
  const length = numberInput("max_new_tokens", 200, 1, 5000);
  const temperature = numberInput("temperature", 0.8, 0.05, 5, 0.05);
  const seed = element("input", { id: "seed", type: "number", min: 0, placeholder: "random" });
  form.append(field("Prompt", prompt), element("div", { class: "row" },
    field("New tokens", length), field("Temperature", temperature), field("Seed", seed)));
  return {
    label: "Generate",
    run: async () => {
      const shownPrompt = element("span", { class: "prompt", text: prompt.value });
      const written = element("span", { class: "written", id: "written" });
      const output = element("pre", { class: "output", id: "output" }, shownPrompt, written);
      result.replaceChildren(output);
      const request = { prompt: prompt.value, max_new_tokens: Number(length.value), temperature: Number(temperature.value) };
      if (seed.value !== "") request.seed = Number(seed.value);
      let pieces = 0;
      await streamJSON("stream", request, (piece) => {
        pieces += 1;
        // A model of reversed text writes what comes before the prompt.
        if (piece.before) output.insertBefore(document.createTextNode(piece.text), output.firstChild);
        else written.append(piece.text);
      });
      output.dataset.pieces = String(pieces);
      output.dataset.done = "true";
    },
  };
});
