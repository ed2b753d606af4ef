// The music app's playground form: sample pieces (or continue an uploaded MIDI / MusicXML
// primer), each drawn as a piano roll, with its MIDI file to download.
"use strict";
playground.mount((form, result, model) => {
  const { element, field, numberInput, postJSON } = playground;
  const count = numberInput("num_samples", 2, 1, 16);
  const length = numberInput("length", 64, 1, 2048);
  const temperature = numberInput("temperature", 1.0, 0.05, 10, 0.05);
  const seed = element("input", { id: "seed", type: "number", min: 0, placeholder: "random" });
  const primer = element("input", { id: "primer", type: "file", accept: ".mid,.midi,.xml,.musicxml,.mxl" });
  form.append(element("div", { class: "row" },
    field("Pieces", count), field("Steps", length), field("Temperature", temperature), field("Seed", seed)),
    field("Primer to continue (optional MIDI or MusicXML file)", primer));

  function base64Of(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
      reader.onerror = () => reject(new Error(`primer: cannot read ${file.name}`));
      reader.readAsDataURL(file);
    });
  }

  // Time left to right, the highest key on top: only the keys the pieces use, a row per key.
  function pianoRoll(steps, primerSteps, low, high, index) {
    const cell = 8, rows = high - low + 1;
    const canvas = element("canvas", { class: "roll", id: `roll_${index}`,
      width: Math.max(1, steps.length) * cell, height: rows * cell });
    const paint = canvas.getContext("2d");
    paint.fillStyle = "#ffffff";
    paint.fillRect(0, 0, canvas.width, canvas.height);
    paint.fillStyle = "#eef0f5";
    paint.fillRect(0, 0, primerSteps * cell, canvas.height);
    let notes = 0;
    steps.forEach((pitches, t) => pitches.forEach((pitch) => {
      paint.fillStyle = t < primerSteps ? "#8a94ad" : "#3559e0";
      paint.fillRect(t * cell, (high - pitch) * cell, cell - 1, cell - 1);
      notes += 1;
    }));
    canvas.dataset.steps = String(steps.length);
    canvas.dataset.notes = String(notes);
    return canvas;
  }

  return {
    label: "Sample",
    run: async () => {
      const request = { num_samples: Number(count.value), length: Number(length.value), temperature: Number(temperature.value) };
      if (seed.value !== "") request.seed = Number(seed.value);
      if (primer.files.length) request.primer_midi = await base64Of(primer.files[0]);
      const answer = await postJSON("predict", request);
      const all = answer.samples.flatMap((s) => s.steps.flat());
      const low = all.length ? Math.min(...all) - 1 : 59, high = all.length ? Math.max(...all) + 1 : 72;
      const pieces = answer.samples.map((sample, i) => element("figure", { class: "piece" },
        pianoRoll(sample.steps, answer.primer_steps, low, high, i),
        element("figcaption", {},
          element("a", { id: `midi_${i}`, download: `sample_${i}.mid`, href: `data:audio/midi;base64,${sample.midi}`,
            text: `sample_${i}.mid` }),
          ` · ${sample.steps.length} steps, ${(sample.steps.length / answer.steps_per_quarter).toFixed(0)} quarter notes`)));
      result.replaceChildren(element("div", { id: "pieces" }, ...pieces));
    },
  };
});
