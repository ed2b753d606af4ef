// The forecaster's playground form: a series as CSV in, a chart of it with the forecast out.
"use strict";
playground.mount((form, result, model) => {
  const { element, field, postJSON } = playground;
  const handoff = model.handoff || {};
  const columns = handoff.columns || ["value"];
  const timeColumn = handoff.time_column || "time";
  const context = handoff.context || 1;
  const series = element("textarea", { id: "series", required: true, rows: 10,
    placeholder: `${timeColumn},${columns.join(",")}\n… at least ${context} rows, oldest first` });
  const example = element("button", { type: "button", class: "secondary", id: "example", text: "Example series",
    onclick: () => {
      const rows = [`${timeColumn},${columns.join(",")}`];
      const start = Date.UTC(2024, 0, 1);
      for (let i = 0; i < 3 * context; i += 1) {
        const day = new Date(start + i * 86400000).toISOString().slice(0, 10);
        rows.push([day, ...columns.map((_, c) => (10 + c + Math.sin(i / 3) + 0.1 * Math.cos(i)).toFixed(3))].join(","));
      }
      series.value = rows.join("\n");
    } });
  form.append(field(`Series (CSV: ${timeColumn},${columns.join(",")}; the model reads the last ${context} rows)`, series), example);

  function parse(text) {
    const lines = text.trim().split(/\r?\n/).filter((line) => line.trim());
    const header = lines.shift().split(",").map((cell) => cell.trim());
    const at = header.indexOf(timeColumn);
    if (at < 0) throw new Error(`series: the header has no ${timeColumn} column`);
    const body = { time: [], values: Object.fromEntries(columns.map((c) => [c, []])) };
    for (const line of lines) {
      const cells = line.split(",").map((cell) => cell.trim());
      body.time.push(cells[at]);
      for (const column of columns) body.values[column].push(Number(cells[header.indexOf(column)]));
    }
    return body;
  }

  function chart(history, answer, column) {
    const past = history.values[column].slice(-3 * context);
    const ahead = answer.forecast[column];
    const lower = answer.lower ? answer.lower[column] : ahead;
    const upper = answer.upper ? answer.upper[column] : ahead;
    const all = [...past, ...ahead, ...lower, ...upper];
    const low = Math.min(...all), high = Math.max(...all), span = high - low || 1;
    const width = 800, height = 280, steps = past.length + ahead.length - 1 || 1;
    const x = (i) => (i / steps) * (width - 20) + 10;
    const y = (v) => height - 10 - ((v - low) / span) * (height - 20);
    const line = (values, offset) => values.map((v, i) => `${x(i + offset).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("class", "chart");
    svg.setAttribute("id", "chart");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    const shape = (tag, attributes) => {
      const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
      for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
      svg.append(node);
    };
    const start = past.length - 1;
    const joined = (values) => [past[past.length - 1], ...values];
    shape("polygon", { class: "band", points: `${line(joined(upper), start)} ${line(joined(lower), start).split(" ").reverse().join(" ")}` });
    shape("polyline", { class: "history", points: line(past, 0) });
    shape("polyline", { class: "forecast", points: line(joined(ahead), start) });
    return svg;
  }

  return {
    label: "Forecast",
    run: async () => {
      const history = parse(series.value);
      const answer = await postJSON("predict", history);
      const rows = answer.time.map((time, i) => element("tr", {}, element("td", { text: time }),
        ...columns.map((c) => element("td", { text: answer.forecast[c][i].toFixed(3) }))));
      const table = element("table", { id: "forecast" },
        element("thead", {}, element("tr", {}, element("th", { text: timeColumn }), ...columns.map((c) => element("th", { text: c })))),
        element("tbody", {}, ...rows));
      result.replaceChildren(chart(history, answer, columns[0]), table);
    },
  };
});
