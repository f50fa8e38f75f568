/**
 * What a label is, once for the whole project: the canonical expression order (Aff-Wild2's, which the API and
 * every manifest use by name) and each dataset's or model's native order mapped onto it. Training readers,
 * the exporter and the serving layer all import from here, so they cannot disagree.
 *
 * The model reads facial *expressions* (visible configurations of the face), not inner emotional states.
 */

/** Canonical expression labels in Aff-Wild2 (ABAW) order. The API's `scores` object uses these keys. */
export const CANONICAL_LABELS = [
  "neutral",
  "anger",
  "disgust",
  "fear",
  "happiness",
  "sadness",
  "surprise",
] as const;
export type ExpressionLabel = (typeof CANONICAL_LABELS)[number];

/** Aff-Wild2 ABAW3+ adds an eighth class, `other`; it is accepted by readers and mapped or dropped. */
export const OTHER_LABEL = "other";

/** Native label orders (index -> canonical name). `null` marks a class outside the canonical seven. */
export const LABEL_ORDERS = {
  /** Aff-Wild2 EXPR files: 0..6 (7 = Other in ABAW3+). */
  affwild2: ["neutral", "anger", "disgust", "fear", "happiness", "sadness", "surprise"],
  /** AffectNet codes 0..7 (7 = contempt; 8..10 are not expressions). The reference code trains in this order. */
  affectnet: ["neutral", "happiness", "sadness", "surprise", "fear", "disgust", "anger"],
  /** RAF-DB basic labels 1..7, stored here 0-based. */
  rafdb: ["surprise", "fear", "disgust", "happiness", "sadness", "anger", "neutral"],
  /** ExpW and FER2013: 0 angry .. 6 neutral. */
  expw: ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"],
  fer2013: ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"],
  /** @vladmandic/face-api FaceExpressionNet outputs. */
  faceapi: ["neutral", "happiness", "sadness", "anger", "fear", "disgust", "surprise"],
} as const satisfies Record<string, readonly ExpressionLabel[]>;
export type LabelOrderName = keyof typeof LABEL_ORDERS;

/** Index of each canonical label in a native order: `perm[canonicalIndex] = nativeIndex`. */
export function toCanonicalPermutation(order: readonly string[]): number[] {
  return CANONICAL_LABELS.map((label) => {
    const i = order.indexOf(label);
    if (i < 0) throw new Error(`Cannot map labels: "${label}" is missing from [${order.join(", ")}]`);
    return i;
  });
}

/** Reorders per-class values given in `order` into canonical order. */
export function toCanonical(values: ArrayLike<number>, order: readonly string[]): number[] {
  return toCanonicalPermutation(order).map((i) => values[i]);
}

/** Canonical index of a label name (case-insensitive, a few common synonyms accepted), or -1. */
export function canonicalIndex(name: string): number {
  const n = name.trim().toLowerCase();
  const synonyms: Record<string, ExpressionLabel> = {
    angry: "anger",
    disgusted: "disgust",
    fearful: "fear",
    happy: "happiness",
    sad: "sadness",
    surprised: "surprise",
  };
  return CANONICAL_LABELS.indexOf((synonyms[n] ?? n) as ExpressionLabel);
}

/** The input contract of SCAN+CCI: 224x224 RGB, `x = (u8 / 255 - 0.5) / 0.5`, NCHW float32. */
export const SCAN_CCI_INPUT = {
  name: "input",
  size: 224,
  layout: "NCHW",
  channelOrder: "RGB",
  dtype: "float32",
  scale: 1 / 255,
  mean: [0.5, 0.5, 0.5],
  std: [0.5, 0.5, 0.5],
} as const;

/** Intended-use note carried by every expression manifest and shown by the API. */
export const INTENDED_USE =
  "Estimates the facial expression visible in a face image (a category of facial configuration). " +
  "It does not measure inner emotional states, intent or truthfulness; do not use it for decisions about " +
  "people such as hiring, policing or credit.";
