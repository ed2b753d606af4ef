// The classifier's playground form: a text in, one bar per label out.
"use strict";
playground.mount((form, result) => {
  const { element, field, postJSON } = playground;
  const text = element("textarea", { id: "text", required: true, placeholder: "a text to label" });
  form.append(field("Text", text));
  return {
    label: "Classify",
    run: async () => {
      const answer = await postJSON("predict", { text: text.value });
      result.replaceChildren(...Object.entries(answer.probabilities).map(([name, p]) =>
        element("div", { class: "bar" + (answer.labels.includes(name) ? " predicted" : ""), "data-label": name },
          element("span", { class: "name", text: name }),
          element("span", { class: "track" }, element("span", { class: "fill", style: `display:block;width:${(100 * p).toFixed(1)}%` })),
          element("span", { class: "value", text: p.toFixed(3) }))));
    },
  };
});
