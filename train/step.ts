/**
 * One training step's arithmetic, shared by the single-threaded loop (train/fit.ts) and the data-parallel
 * gradient workers (train/grad_worker.ts), so both compute exactly the same loss and gradients: the batch is
 * normalised like serving, the model runs with BN in training mode, and the loss is
 * `attention * CE(attention head) + regions * sum of the 4 CCI region CEs` (the reference train_affwild2.py).
 */
import * as tf from "@tensorflow/tfjs";
import type { RawPixels } from "../model/preprocess.ts";
import type { ScanCci } from "./arch.ts";
import { toBatchTensor } from "./augment.ts";

/** What the loss and normalisation of a step need from the recipe (shaped like the config's fields). */
export interface StepSettings {
  normalize: { mean: number[]; std: number[] };
  loss: { attention: number; regions: number };
}

/** A step's results as kept tensors; the caller disposes them (gradients keyed by tfjs variable name). */
export interface StepTensors {
  loss: tf.Scalar;
  attentionLoss: tf.Scalar;
  regionLoss: tf.Scalar;
  /** Argmax of the averaged heads, per image. */
  predicted: tf.Tensor1D;
  grads: Record<string, tf.Tensor>;
}

/** Mean cross-entropy of `logits` against one-hot targets. */
export function crossEntropy(logits: tf.Tensor2D, onehot: tf.Tensor2D): tf.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
}

/**
 * Forward and backward pass of `model` on `images` with `labels`: the loss (mean over the images), its two parts,
 * the predictions and the gradient of every variable in `vars`. BN running statistics are updated as a side
 * effect, as in PyTorch's training mode.
 */
export function trainingStep(
  model: ScanCci,
  vars: tf.Variable[],
  images: RawPixels[],
  labels: number[],
  settings: StepSettings,
): StepTensors {
  return tf.tidy(() => {
    const x = toBatchTensor(images, settings.normalize);
    const onehot = tf.oneHot(tf.tensor1d(labels, "int32"), model.classes).toFloat() as tf.Tensor2D;
    let parts: tf.Scalar[] = [];
    let predicted: tf.Tensor1D | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const out = model.apply(x, { training: true });
      const att = crossEntropy(out.attention, onehot);
      const reg = tf.addN(out.regions.map((r) => crossEntropy(r, onehot))) as tf.Scalar;
      parts = [tf.keep(att), tf.keep(reg)];
      predicted = tf.keep(tf.argMax(out.logits, 1) as tf.Tensor1D);
      return tf.add(tf.mul(att, settings.loss.attention), tf.mul(reg, settings.loss.regions)) as tf.Scalar;
    }, vars);
    return { loss: value, attentionLoss: parts[0], regionLoss: parts[1], predicted: predicted!, grads };
  });
}
