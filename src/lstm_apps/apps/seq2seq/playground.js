// seq2seq's playground form: a sentence in, its translation and the attention map out.
"use strict";
playground.mount((form, result) => {
  const { element, field, numberInput, postJSON, heat } = playground;
  const source = element("textarea", { id: "source", required: true, placeholder: "a sentence to translate" });
  const beam = numberInput("beam_size", 5, 1, 64);
  const nBest = numberInput("n_best", 1, 1, 64);
  form.append(field("Source", source), element("div", { class: "row" }, field("Beam size", beam), field("N best", nBest)));
  return {
    label: "Translate",
    run: async () => {
      const answer = await postJSON("predict", {
        source: source.value, beam_size: Number(beam.value), n_best: Number(nBest.value), attention: true,
      });
      const parts = [element("p", { class: "translation", id: "translation", text: answer.translation })];
      if (answer.n_best.length > 1) {
        parts.push(element("ol", { class: "nbest" }, ...answer.n_best.map((h) =>
          element("li", { text: `${h.text}  (${h.score.toFixed(3)})` }))));
      }
      const attention = answer.attention;
      if (attention) {
        const head = element("tr", {}, element("th"), ...attention.source_tokens.map((t) => element("th", { text: t })));
        const rows = attention.weights.map((row, i) => element("tr", {},
          element("th", { text: attention.target_tokens[i] || "</s>" }),
          ...row.map((w) => element("td", { style: `background:${heat(w)}`, title: w.toFixed(3) }))));
        parts.push(element("table", { class: "attention", id: "attention" }, element("thead", {}, head), element("tbody", {}, ...rows)));
      }
      result.replaceChildren(...parts);
    },
  };
});
