// The tagger's playground form: running text in, the text with its entities highlighted out.
"use strict";
playground.mount((form, result) => {
  const { element, field, postJSON } = playground;
  const text = element("textarea", { id: "text", required: true, placeholder: "John lives in Berlin ." });
  form.append(field("Text", text));
  return {
    label: "Find entities",
    run: async () => {
      const source = text.value;
      const answer = await postJSON("predict", { text: source });
      const shown = element("p", { class: "tagged", id: "tagged" });
      let at = 0;
      for (const entity of answer.entities) {
        shown.append(source.slice(at, entity.start));
        shown.append(element("mark", { class: "entity", "data-type": entity.type },
          source.slice(entity.start, entity.end), element("span", { class: "type", text: entity.type })));
        at = entity.end;
      }
      shown.append(source.slice(at));
      const count = element("p", { class: "muted", text: `${answer.entities.length} entities, ${answer.tokens.length} words` });
      result.replaceChildren(shown, count);
    },
  };
});
