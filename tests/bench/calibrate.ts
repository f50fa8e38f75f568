/**
 * `deno task model:calibrate --model MANIFEST --data DIR [--every N] [--detect true|false] [--fitted-on TEXT]`:
 * fits a temperature for one expression model on a labelled set through the API's in-process path and stores
 * it in the model's manifest (`calibration`), which the server then applies to every score it reports (labels
 * never change). Prints the temperature and the ECE (15 bins) on the fitting set before and after. Fit on data
 * the model is not evaluated on (e.g. every 10th image of a training split), then check with bench:accuracy.
 */
import { parseArgs } from "node:util";
import { calibrateModel } from "./calibrate_run.ts";

const USAGE =
  "usage: deno task model:calibrate --model MANIFEST --data DIR [--every N] [--detect true|false] [--fitted-on TEXT]";
const { values } = parseArgs({
  args: Deno.args,
  options: {
    model: { type: "string" },
    data: { type: "string" },
    every: { type: "string", default: "1" },
    detect: { type: "string", default: "false" },
    "fitted-on": { type: "string" },
  },
});
const every = Number(values.every);
if (
  !values.model || !values.data || !["true", "false"].includes(values.detect) || !Number.isInteger(every) ||
  every < 1
) {
  console.error(USAGE);
  Deno.exit(2);
}
const c = await calibrateModel({
  manifestPath: values.model,
  data: values.data,
  every,
  detect: values.detect === "true",
  ...(values["fitted-on"] ? { fittedOn: values["fitted-on"] } : {}),
});
console.log(
  `${values.model}: temperature ${c.temperature.toFixed(3)} fitted on ${c.samples} images (${c.fittedOn}); ` +
    `ECE ${c.eceBefore.toFixed(3)} before, ${c.eceAfter.toFixed(3)} after; manifest rewritten`,
);
