import assert from "node:assert/strict";
import sharp from "sharp";
import { createScanCci } from "../../train/arch.ts";
import { initBackend } from "../../train/backend.ts";
import { gradcam } from "../../train/gradcam.ts";
import { renderShape } from "../../train/synthetic.ts";
import { randomScanCci } from "../../model/scan_cci/random.ts";

await initBackend();

Deno.test("gradcam() writes a 224x224 overlay with a finite 14x14 map that depends on the class", async () => {
  const dir = await Deno.makeTempDir();
  const model = createScanCci({ width: 16, weights: randomScanCci({ width: 16, seed: 2, style: "test" }) });
  try {
    const image = renderShape(1, 3).image;
    const [a] = await gradcam({ weights: model, images: [image], out: dir, class: 0 });
    const [b] = await gradcam({ weights: model, images: [image], class: "surprise" });
    assert.equal(a.cam.length, 196);
    assert.ok(a.cam.every(Number.isFinite) && b.cam.every(Number.isFinite));
    assert.ok(a.cam.every((v) => v >= 0 && v <= 1), "normalised to 0..1");
    assert.ok(Math.max(...a.cam) === 1 || Math.max(...a.cam) === 0);
    assert.equal(b.class, 6);
    let diff = 0;
    for (let i = 0; i < 196; i++) diff += Math.abs(a.cam[i] - b.cam[i]);
    assert.ok(diff > 1e-3, "maps for different classes differ");
    assert.ok(Math.abs(a.probabilities.reduce((s, p) => s + p, 0) - 1) < 1e-5);
    const meta = await sharp(a.file!).metadata();
    assert.equal(meta.width, 224);
    assert.equal(meta.height, 224);
    assert.equal(meta.format, "png");
    await assert.rejects(
      gradcam({ weights: model, images: [image], class: "boredom" }),
      /Cannot run Grad-CAM/,
    );
  } finally {
    model.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});
