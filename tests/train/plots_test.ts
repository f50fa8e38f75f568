import assert from "node:assert/strict";
import { join } from "node:path";
import { confusionSvg, curvesSvg, writePlots } from "../../train/plots.ts";

/**
 * A small XML well-formedness check (no DOM parser in Deno): tags nest and close, attributes are quoted,
 * no raw "<" or stray "&" in text. Returns element names in document order.
 */
function parseXml(xml: string): string[] {
  const names: string[] = [];
  const stack: string[] = [];
  const re = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(xml))) {
    consumed += m[0].length;
    if (m[6]) throw new Error(`stray "<" at ${m.index}`);
    if (m[5] !== undefined) {
      if (/&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(m[5])) throw new Error(`bad entity in "${m[5]}"`);
      continue;
    }
    const [, close, name, , self] = m;
    if (close) {
      if (stack.pop() !== name) throw new Error(`mismatched </${name}> at ${m.index}`);
    } else {
      names.push(name);
      if (!self) stack.push(name);
    }
  }
  if (consumed !== xml.length) throw new Error("unparsed input");
  if (stack.length) throw new Error(`unclosed <${stack.join(", ")}>`);
  return names;
}

Deno.test("confusionSvg() is well-formed SVG with one cell and one count per matrix entry", () => {
  const labels = ["neutral", "anger", "a<b&c"];
  const svg = confusionSvg([[5, 1, 0], [2, 7, 1], [0, 0, 3]], labels);
  const names = parseXml(svg.trim());
  assert.equal(names[0], "svg");
  assert.equal(names.filter((n) => n === "rect").length, 1 + 9);
  assert.match(svg, />7<\/text>/);
  assert.match(svg, /a&lt;b&amp;c/);
  assert.throws(() => confusionSvg([[1]], labels), /not 3x3/);
});

Deno.test("curvesSvg() draws one path per series and writePlots() writes the three plots", async () => {
  const svg = curvesSvg([{ name: "train loss", values: [2, 1.5, 1.1] }, {
    name: "val",
    values: [2.2, NaN, 1.4],
  }], {
    title: "Loss",
  });
  const names = parseXml(svg.trim());
  assert.equal(names.filter((n) => n === "path").length, 2);
  assert.equal(names.filter((n) => n === "circle").length, 5);
  const dir = await Deno.makeTempDir();
  const files = await writePlots(dir, {
    confusion: [[1, 0], [1, 2]],
    labels: ["neutral", "anger"],
    history: [
      { epoch: 1, trainLoss: 2, valLoss: 2.1, accuracy: 0.4, f1_macro: 0.2, abaw2020: 0.266 },
      { epoch: 2, trainLoss: 1.5, valLoss: 1.9, accuracy: 0.5, f1_macro: 0.3, abaw2020: 0.366 },
    ],
  });
  assert.deepEqual(files.map((f) => f.slice(dir.length + 1)), ["confusion.svg", "loss.svg", "scores.svg"]);
  for (const f of files) parseXml((await Deno.readTextFile(f)).trim());
  assert.match(await Deno.readTextFile(join(dir, "scores.svg")), /ABAW2020/);
  assert.doesNotMatch(await Deno.readTextFile(join(dir, "scores.svg")), /best: epoch/);
  await writePlots(dir, {
    history: [{ epoch: 1, f1_macro: 0.2 }, { epoch: 2, f1_macro: 0.3 }],
    best: { epoch: 2, metric: "f1_macro", value: 0.3 },
  });
  const scores = await Deno.readTextFile(join(dir, "scores.svg"));
  assert.match(scores, /macro F1/);
  assert.match(scores, /best: epoch 2, f1_macro 0\.3\b/);
});
