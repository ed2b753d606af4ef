// The speech app's playground form: an audio upload or a recording from the microphone in, the
// transcript out. Recordings are encoded as 16-bit WAV here, which any server-side reader takes.
"use strict";
playground.mount((form, result) => {
  const { element, field, numberInput, postForm, status } = playground;
  const file = element("input", { id: "audio", type: "file", accept: "audio/*" });
  const beam = numberInput("beam_size", 8, 1, 64);
  let recorded = null;
  let stopRecording = null;
  const record = element("button", { type: "button", class: "secondary", id: "record", text: "Record",
    onclick: async () => {
      if (stopRecording) { recorded = await stopRecording(); stopRecording = null; record.textContent = "Record"; status("recorded"); return; }
      stopRecording = await startRecording();
      record.textContent = "Stop";
      status("recording…");
    } });
  form.append(element("div", { class: "row" }, field("Audio file", file), record, field("Beam size", beam)));
  file.addEventListener("change", () => { recorded = null; });

  async function startRecording() {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const audio = new AudioContext();
    const input = audio.createMediaStreamSource(stream);
    const tap = audio.createScriptProcessor(4096, 1, 1);
    const chunks = [];
    tap.onaudioprocess = (event) => chunks.push(new Float32Array(event.inputBuffer.getChannelData(0)));
    input.connect(tap);
    tap.connect(audio.destination);
    return async () => {
      tap.disconnect();
      input.disconnect();
      stream.getTracks().forEach((track) => track.stop());
      await audio.close();
      return wav(chunks, audio.sampleRate);
    };
  }

  function wav(chunks, rate) {
    const samples = chunks.reduce((n, c) => n + c.length, 0);
    const view = new DataView(new ArrayBuffer(44 + 2 * samples));
    const text = (at, s) => [...s].forEach((ch, i) => view.setUint8(at + i, ch.charCodeAt(0)));
    text(0, "RIFF"); view.setUint32(4, 36 + 2 * samples, true); text(8, "WAVE"); text(12, "fmt ");
    view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
    view.setUint32(24, rate, true); view.setUint32(28, 2 * rate, true); view.setUint16(32, 2, true);
    view.setUint16(34, 16, true); text(36, "data"); view.setUint32(40, 2 * samples, true);
    let at = 44;
    for (const chunk of chunks) for (const s of chunk) { view.setInt16(at, Math.max(-1, Math.min(1, s)) * 32767, true); at += 2; }
    return new Blob([view], { type: "audio/wav" });
  }

  return {
    label: "Transcribe",
    run: async () => {
      const clip = recorded || file.files[0];
      if (!clip) throw new Error("audio: choose a file or record");
      const data = new FormData();
      data.append("audio", clip, recorded ? "recording.wav" : clip.name);
      data.append("beam_size", beam.value);
      const answer = await postForm("predict", data);
      result.replaceChildren(
        element("p", { class: "transcript", id: "transcript", text: answer.transcript || "(nothing heard)" }),
        element("p", { class: "muted", text: `${answer.seconds.toFixed(2)} s of audio` }));
    },
  };
});
