/**
 * Figures measured for the converted and ensemble models, written into their manifests (`metrics`), so each
 * model card says how it did. One run, 2026-12-02: `deno task bench:accuracy --data
 * ../shared/data/fer2013/public-test --detect false --model human-emotion --model human-emotion-flip --model
 * ensemble-expression --model ensemble-expression-flip` (values rounded to 4 places); `ensemble-expression-flip-geo`
 * 2026-12-03, `deno task bench:accuracy --data ../shared/data/fer2013/public-test --detect false --model
 * ensemble-expression-flip --model ensemble-expression-flip-geo`. FER2013 is for evaluation
 * and research use only, and `emotion` was trained on its train split, so these figures favour it.
 */
import type { Metrics } from "../manifest.ts";

const FER2013 = "FER2013 (evaluation and research use only; human-emotion was trained on its train split)";

/** PublicTest figures by model id. */
export const MEASURED: Record<string, Metrics> = {
  "human-emotion": {
    dataset: FER2013,
    split: "PublicTest (detect=false)",
    samples: 3589,
    accuracy: 0.6492,
    f1_macro: 0.6394,
    abaw2020: 0.6427,
    per_class: {
      neutral: { precision: 0.535, recall: 0.6178, f1: 0.5734, support: 607 },
      anger: { precision: 0.5978, recall: 0.576, f1: 0.5867, support: 467 },
      disgust: { precision: 0.8649, recall: 0.5714, f1: 0.6882, support: 56 },
      fear: { precision: 0.505, recall: 0.4113, f1: 0.4533, support: 496 },
      happiness: { precision: 0.8174, recall: 0.8503, f1: 0.8335, support: 895 },
      sadness: { precision: 0.5594, recall: 0.5482, f1: 0.5538, support: 653 },
      surprise: { precision: 0.777, recall: 0.7976, f1: 0.7872, support: 415 },
    },
  },
  "human-emotion-flip": {
    dataset: FER2013,
    split: "PublicTest (detect=false)",
    samples: 3589,
    accuracy: 0.6578,
    f1_macro: 0.6426,
    abaw2020: 0.6476,
    per_class: {
      neutral: { precision: 0.5559, recall: 0.6227, f1: 0.5874, support: 607 },
      anger: { precision: 0.588, recall: 0.5867, f1: 0.5874, support: 467 },
      disgust: { precision: 0.8333, recall: 0.5357, f1: 0.6522, support: 56 },
      fear: { precision: 0.549, recall: 0.4294, f1: 0.4819, support: 496 },
      happiness: { precision: 0.8182, recall: 0.8547, f1: 0.8361, support: 895 },
      sadness: { precision: 0.5588, recall: 0.5605, f1: 0.5596, support: 653 },
      surprise: { precision: 0.7809, recall: 0.8072, f1: 0.7938, support: 415 },
    },
  },
  "ensemble-expression": {
    dataset: FER2013,
    split: "PublicTest (detect=false)",
    samples: 3589,
    accuracy: 0.6225,
    f1_macro: 0.5805,
    abaw2020: 0.5944,
    per_class: {
      neutral: { precision: 0.4803, recall: 0.6639, f1: 0.5574, support: 607 },
      anger: { precision: 0.595, recall: 0.5096, f1: 0.549, support: 467 },
      disgust: { precision: 0.3185, recall: 0.8929, f1: 0.4695, support: 56 },
      fear: { precision: 0.5936, recall: 0.2621, f1: 0.3636, support: 496 },
      happiness: { precision: 0.8555, recall: 0.8335, f1: 0.8444, support: 895 },
      sadness: { precision: 0.5148, recall: 0.5069, f1: 0.5108, support: 653 },
      surprise: { precision: 0.732, recall: 0.8096, f1: 0.7689, support: 415 },
    },
  },
  "ensemble-expression-flip": {
    dataset: FER2013,
    split: "PublicTest (detect=false)",
    samples: 3589,
    accuracy: 0.6503,
    f1_macro: 0.6199,
    abaw2020: 0.6299,
    per_class: {
      neutral: { precision: 0.5031, recall: 0.6639, f1: 0.5724, support: 607 },
      anger: { precision: 0.6278, recall: 0.5418, f1: 0.5816, support: 467 },
      disgust: { precision: 0.4202, recall: 0.8929, f1: 0.5714, support: 56 },
      fear: { precision: 0.6754, recall: 0.3105, f1: 0.4254, support: 496 },
      happiness: { precision: 0.8744, recall: 0.8559, f1: 0.865, support: 895 },
      sadness: { precision: 0.5198, recall: 0.562, f1: 0.5401, support: 653 },
      surprise: { precision: 0.7478, recall: 0.8217, f1: 0.783, support: 415 },
    },
  },
  "ensemble-expression-flip-geo": {
    dataset: FER2013,
    split: "PublicTest (detect=false)",
    samples: 3589,
    accuracy: 0.645,
    f1_macro: 0.6185,
    abaw2020: 0.6272,
    per_class: {
      neutral: { precision: 0.4988, recall: 0.6722, f1: 0.5726, support: 607 },
      anger: { precision: 0.6219, recall: 0.5353, f1: 0.5754, support: 467 },
      disgust: { precision: 0.519, recall: 0.7321, f1: 0.6074, support: 56 },
      fear: { precision: 0.6318, recall: 0.2802, f1: 0.3883, support: 496 },
      happiness: { precision: 0.8794, recall: 0.8469, f1: 0.8628, support: 895 },
      sadness: { precision: 0.5, recall: 0.5743, f1: 0.5346, support: 653 },
      surprise: { precision: 0.7511, recall: 0.8289, f1: 0.7881, support: 415 },
    },
  },
};
