// The captioner's playground form: an image upload in, its caption out; choosing a word shows
// where the model looked while writing it.
"use strict";
playground.mount((form, result) => {
  const { element, field, numberInput, postForm } = playground;
  const file = element("input", { id: "image", type: "file", accept: "image/*", required: true });
  const beam = numberInput("beam_size", 5, 1, 64);
  form.append(element("div", { class: "row" }, field("Image", file), field("Beam size", beam)));

  // The model sees the image's centre square (resized); draw that, then one word's weights on it.
  function draw(canvas, image, grid, weights) {
    const side = Math.min(image.naturalWidth, image.naturalHeight);
    const context = canvas.getContext("2d");
    context.drawImage(image, (image.naturalWidth - side) / 2, (image.naturalHeight - side) / 2, side, side, 0, 0, canvas.width, canvas.height);
    if (!weights) return;
    const cell = canvas.width / grid;
    const top = Math.max(...weights) || 1;
    weights.forEach((w, region) => {
      context.fillStyle = `rgba(0, 0, 0, ${(0.75 * (1 - w / top)).toFixed(3)})`;
      context.fillRect((region % grid) * cell, Math.floor(region / grid) * cell, cell, cell);
    });
  }

  return {
    label: "Caption",
    run: async () => {
      if (!file.files.length) throw new Error("image: choose a file");
      const data = new FormData();
      data.append("image", file.files[0]);
      data.append("beam_size", beam.value);
      data.append("attention", "true");
      const answer = await postForm("predict", data);
      const image = new Image();
      image.src = URL.createObjectURL(file.files[0]);
      await image.decode();
      const canvas = element("canvas", { id: "overlay", width: 320, height: 320 });
      draw(canvas, image, 1, null);
      const parts = [element("p", { class: "caption", id: "caption", text: answer.caption }), canvas];
      const attention = answer.attention;
      if (attention) {
        const buttons = attention.words.map((word, i) => element("button", { type: "button", class: "secondary", text: word,
          onclick: (event) => {
            for (const other of buttons) other.classList.remove("on");
            event.target.classList.add("on");
            draw(canvas, image, attention.grid_size, attention.weights[i]);
          } }));
        parts.push(element("div", { class: "words", id: "words" }, ...buttons));
      }
      result.replaceChildren(...parts);
    },
  };
});
