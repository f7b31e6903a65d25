import type { LoadResult } from "./load.ts";

/** A small SVG: accepted and delivered events/s per batch size (ours beside the floor), and latency. */
export function chart(rows: { ours: LoadResult; floor: LoadResult }[]): string {
  const width = 760;
  const height = 300;
  const panel = (
    x: number,
    title: string,
    series: { label: string; color: string; values: number[] }[],
    unit: string,
  ) => {
    const max = Math.max(...series.flatMap((s) => s.values), 1);
    const plotH = 200;
    const groupW = 100;
    const barW = groupW / (series.length + 1);
    const bars = rows.flatMap((row, g) =>
      series.map((s, i) => {
        const v = s.values[g] ?? 0;
        const h = (v / max) * plotH;
        const bx = x + 40 + g * (groupW + 20) + i * barW;
        return `<rect x="${bx.toFixed(1)}" y="${(240 - h).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${s.color}"><title>${s.label}, batch ${row.ours.batchSize}: ${v.toFixed(1)} ${unit}</title></rect><text x="${(bx + barW / 2 - 1).toFixed(1)}" y="${(236 - h).toFixed(1)}" font-size="9" text-anchor="middle">${Math.round(v)}</text>`;
      }),
    );
    const labels = rows.map(
      (row, g) =>
        `<text x="${x + 40 + g * (groupW + 20) + groupW / 2 - barW / 2}" y="256" font-size="11" text-anchor="middle">batch ${row.ours.batchSize}</text>`,
    );
    const legend = series.map(
      (s, i) =>
        `<rect x="${x + 40 + i * 120}" y="270" width="10" height="10" fill="${s.color}"/><text x="${x + 54 + i * 120}" y="279" font-size="11">${s.label}</text>`,
    );
    return [
      `<text x="${x + 40}" y="24" font-size="13" font-weight="bold">${title}</text>`,
      `<line x1="${x + 36}" y1="240" x2="${x + 380}" y2="240" stroke="#888"/>`,
      ...bars,
      ...labels,
      ...legend,
    ].join("");
  };
  const left = panel(
    0,
    "Events per second",
    [
      { label: "accepted (floor)", color: "#bbb", values: rows.map((r) => r.floor.acceptedPerSecond) },
      { label: "accepted (jobs)", color: "#f48120", values: rows.map((r) => r.ours.acceptedPerSecond) },
      { label: "delivered (jobs)", color: "#3867d6", values: rows.map((r) => r.ours.deliveredPerSecond) },
    ],
    "events/s",
  );
  const right = panel(
    380,
    "Dispatch → first callback, ms (jobs)",
    [
      { label: "p50", color: "#20bf6b", values: rows.map((r) => r.ours.latencyMs.p50) },
      { label: "p95", color: "#f7b731", values: rows.map((r) => r.ours.latencyMs.p95) },
      { label: "p99", color: "#eb3b5a", values: rows.map((r) => r.ours.latencyMs.p99) },
    ],
    "ms",
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" role="img"><title>Events per second and dispatch-to-first-callback latency by batch size</title><rect width="100%" height="100%" fill="#fff"/>${left}${right}</svg>\n`;
}
