/**
 * Plots as hand-written SVG strings (no dependency, diff-able, viewable in any browser): the confusion matrix
 * as a heatmap with counts, and per-epoch curves (losses; accuracy / macro F1 / ABAW2020 score).
 */
import { join } from "node:path";

/** One epoch of training history; fields a run did not record are left out. */
export interface EpochPoint {
  epoch: number;
  trainLoss?: number;
  valLoss?: number;
  accuracy?: number;
  f1_macro?: number;
  abaw2020?: number;
}

/** A named series for {@link curvesSvg}; `x` defaults to 1..n. */
export interface Series {
  name: string;
  values: number[];
  x?: number[];
}

const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];

/** Escapes text for SVG content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(3).replace(/0+$/, "").replace(/\.$/, "");
}

/**
 * Renders a confusion matrix (`confusion[true][predicted]`) as an SVG heatmap. Cell shade is the row share
 * (recall), so rare classes are as readable as common ones; each cell prints its count.
 */
export function confusionSvg(
  confusion: number[][],
  labels: readonly string[],
  { title = "Confusion matrix (rows: true, columns: predicted)", cell = 56 } = {},
): string {
  const k = labels.length;
  if (confusion.length !== k || confusion.some((r) => r.length !== k)) {
    throw new Error(`Cannot plot confusion matrix: it is not ${k}x${k} like the label list`);
  }
  const left = 100, top = 60;
  const w = left + k * cell + 20, h = top + k * cell + 90;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif">`,
    `<rect width="${w}" height="${h}" fill="white"/>`,
    `<text x="${w / 2}" y="24" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
  ];
  for (let t = 0; t < k; t++) {
    const rowSum = confusion[t].reduce((a, b) => a + b, 0);
    for (let p = 0; p < k; p++) {
      const n = confusion[t][p];
      const share = rowSum === 0 ? 0 : n / rowSum;
      const shade = Math.round(255 - share * 200);
      const x = left + p * cell, y = top + t * cell;
      parts.push(
        `<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="rgb(${shade},${shade},255)" stroke="#ccc"/>`,
        `<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" text-anchor="middle" font-size="12" fill="${
          share > 0.6 ? "white" : "black"
        }">${n}</text>`,
      );
    }
    parts.push(
      `<text x="${left - 6}" y="${top + t * cell + cell / 2 + 4}" text-anchor="end" font-size="12">${
        escapeXml(labels[t])
      }</text>`,
    );
  }
  for (let p = 0; p < k; p++) {
    const x = left + p * cell + cell / 2, y = top + k * cell + 12;
    parts.push(
      `<text x="${x}" y="${y}" text-anchor="end" font-size="12" transform="rotate(-45 ${x} ${y})">${
        escapeXml(labels[p])
      }</text>`,
    );
  }
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

/** Renders one or more series as a line chart with axes, ticks and a legend. Non-finite values are skipped. */
export function curvesSvg(
  series: Series[],
  { title = "", xLabel = "epoch", yLabel = "", width = 520, height = 320 } = {},
): string {
  const pts = series.flatMap((s) =>
    s.values.map((v, i) => [s.x?.[i] ?? i + 1, v]).filter(([, v]) => Number.isFinite(v))
  );
  if (pts.length === 0) throw new Error(`Cannot plot "${title}": no finite values`);
  let [x0, x1] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1]))];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const L = 60, R = 140, T = 40, B = 50;
  const sx = (x: number) => L + ((x - x0) / (x1 - x0)) * (width - L - R);
  const sy = (y: number) => height - B - ((y - y0) / (y1 - y0)) * (height - T - B);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${(width - R + L) / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
    `<line x1="${L}" y1="${height - B}" x2="${width - R}" y2="${height - B}" stroke="black"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${height - B}" stroke="black"/>`,
    `<text x="${(width - R + L) / 2}" y="${height - 12}" text-anchor="middle" font-size="12">${
      escapeXml(xLabel)
    }</text>`,
    `<text x="16" y="${(height - B + T) / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 16 ${
      (height - B + T) / 2
    })">${escapeXml(yLabel)}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const yv = y0 + ((y1 - y0) * i) / 4, xv = x0 + ((x1 - x0) * i) / 4;
    parts.push(
      `<text x="${L - 6}" y="${sy(yv) + 4}" text-anchor="end" font-size="10">${fmt(yv)}</text>`,
      `<line x1="${L}" y1="${sy(yv)}" x2="${width - R}" y2="${sy(yv)}" stroke="#eee"/>`,
      `<text x="${sx(xv)}" y="${height - B + 16}" text-anchor="middle" font-size="10">${fmt(xv)}</text>`,
    );
  }
  series.forEach((s, j) => {
    const colour = COLOURS[j % COLOURS.length];
    const xy = s.values.map((v, i) => [s.x?.[i] ?? i + 1, v]).filter(([, v]) => Number.isFinite(v));
    const d = xy.map(([x, y], i) => `${i === 0 ? "M" : "L"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(
      " ",
    );
    parts.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const [x, y] of xy) {
      parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${colour}"/>`);
    }
    const ly = T + 16 * j + 8;
    parts.push(
      `<line x1="${width - R + 12}" y1="${ly}" x2="${
        width - R + 32
      }" y2="${ly}" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${width - R + 36}" y="${ly + 4}" font-size="11">${escapeXml(s.name)}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

/**
 * Writes the plots a run has data for into `dir`: `confusion.svg`, `loss.svg` (train/val loss per epoch) and
 * `scores.svg` (validation accuracy, macro F1, ABAW2020 per epoch; the title names the `best` epoch when given).
 * Returns the written paths.
 */
export async function writePlots(
  dir: string,
  { confusion, labels, history = [], best }: {
    confusion?: number[][];
    labels?: readonly string[];
    history?: EpochPoint[];
    best?: { epoch: number; metric: string; value: number };
  },
): Promise<string[]> {
  await Deno.mkdir(dir, { recursive: true });
  const written: string[] = [];
  async function put(name: string, svg: string) {
    await Deno.writeTextFile(join(dir, name), svg);
    written.push(join(dir, name));
  }
  if (confusion && labels) await put("confusion.svg", confusionSvg(confusion, labels));
  const x = history.map((h) => h.epoch);
  const pick = (key: keyof EpochPoint, name: string): Series[] =>
    history.some((h) => h[key] !== undefined) ? [{ name, x, values: history.map((h) => h[key] ?? NaN) }] : [];
  const losses = [...pick("trainLoss", "train loss"), ...pick("valLoss", "val loss")];
  if (losses.length) await put("loss.svg", curvesSvg(losses, { title: "Loss per epoch", yLabel: "loss" }));
  const scores = [
    ...pick("accuracy", "accuracy"),
    ...pick("f1_macro", "macro F1"),
    ...pick("abaw2020", "ABAW2020"),
  ];
  if (scores.length) {
    const title = "Validation scores per epoch" +
      (best ? ` (best: epoch ${best.epoch}, ${best.metric} ${fmt(best.value)})` : "");
    await put("scores.svg", curvesSvg(scores, { title, yLabel: "score" }));
  }
  return written;
}
