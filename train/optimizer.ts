/**
 * The optimisers the trainer can run, as one table: `sgd` is the paper's (torch.optim.SGD with momentum and L2
 * weight decay added to the gradient, dampening 0, no Nesterov); `adamw` is torch.optim.AdamW (decoupled weight
 * decay, betas (`momentum`, 0.999), eps 1e-8, bias-corrected), for runs that start from random weights, where
 * plain SGD at these widths learns slowly (measured in train/README.md, "A real learning run"). Both keep two
 * learning rates (backbone vs SCAN/CCI heads). Their buffers are tfjs variables named like the parameters, so a
 * checkpoint's `optimizer.safetensors` holds them and a resume continues bit-exactly.
 */
import * as tf from "@tensorflow/tfjs";
import type { TensorData } from "../model/scan_cci/params.ts";

/** One trainable parameter with its optimiser group. */
export interface OptimizedParam {
  name: string;
  v: tf.Variable;
  group: "backbone" | "heads";
}

/** The optimiser settings of the recipe (train/config.ts `optimizer`). */
export interface OptimizerSettings {
  type: OptimizerName;
  /** SGD momentum, or AdamW's beta1. */
  momentum: number;
  weightDecay: number;
}

/** Learning rates of this epoch, per group. */
export interface GroupRates {
  backbone: number;
  heads: number;
}

interface Rule {
  description: string;
  /** Buffer name suffixes per parameter ("" = the parameter's own name, the SGD momentum's historical key). */
  buffers: readonly string[];
  /** Updates `p` and its buffers in place from gradient `g`; `t` counts steps from 1 (bias correction). */
  update(
    p: tf.Variable,
    g: tf.Tensor,
    bufs: tf.Variable[],
    lr: number,
    t: number,
    s: OptimizerSettings,
  ): void;
}

const ADAM_BETA2 = 0.999;
const ADAM_EPS = 1e-8;

/** Every optimiser by config name. */
export const OPTIMIZERS = {
  sgd: {
    description: "SGD with momentum, L2 weight decay on the gradient (the paper's; torch.optim.SGD)",
    buffers: [""],
    update(p, g, [buf], lr, _t, s) {
      const d = s.weightDecay ? tf.add(g, tf.mul(p, s.weightDecay)) : g;
      buf.assign(tf.add(tf.mul(buf, s.momentum), d));
      p.assign(tf.sub(p, tf.mul(buf, lr)));
    },
  },
  adamw: {
    description: "AdamW, decoupled weight decay, betas (momentum, 0.999), eps 1e-8 (torch.optim.AdamW)",
    buffers: ["", ".exp_avg_sq"],
    update(p, g, [m, v], lr, t, s) {
      const b1 = s.momentum;
      m.assign(tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)));
      v.assign(tf.add(tf.mul(v, ADAM_BETA2), tf.mul(tf.square(g), 1 - ADAM_BETA2)));
      const mhat = tf.div(m, 1 - b1 ** t);
      const denom = tf.add(tf.sqrt(tf.div(v, 1 - ADAM_BETA2 ** t)), ADAM_EPS);
      const decayed = s.weightDecay ? tf.mul(p, 1 - lr * s.weightDecay) : p;
      p.assign(tf.sub(decayed, tf.mul(tf.div(mhat, denom), lr)));
    },
  },
} as const satisfies Record<string, Rule>;

/** An optimiser's config name. */
export type OptimizerName = keyof typeof OPTIMIZERS;
/** The names, for the config schema. */
export const OPTIMIZER_NAMES = Object.keys(OPTIMIZERS) as [OptimizerName, ...OptimizerName[]];

/** A running optimiser: its buffers and the update step. */
export interface Optimizer {
  /** Applies one step to every parameter from `grads` (keyed by tfjs variable name); call inside `tf.tidy`. */
  step(grads: Record<string, tf.Tensor>, lr: GroupRates, t: number): void;
  /** The buffers, by checkpoint key, as tensors in tfjs layout. */
  buffers(): Map<string, TensorData>;
  dispose(): void;
}

/**
 * Creates the optimiser of `settings` for `params`, its buffers zero or restored from `restore` (a checkpoint's
 * buffers). Throws `Cannot resume training: …` naming the first missing buffer.
 */
export function createOptimizer(
  params: OptimizedParam[],
  settings: OptimizerSettings,
  { restore, source = "checkpoint" }: { restore?: Map<string, TensorData>; source?: string } = {},
): Optimizer {
  const rule: Rule = OPTIMIZERS[settings.type];
  const bufs = new Map<string, tf.Variable[]>();
  for (const p of params) {
    bufs.set(
      p.name,
      rule.buffers.map((suffix) => {
        const key = p.name + suffix;
        if (!restore) return tf.variable(tf.zerosLike(p.v), false);
        const t = restore.get(key);
        if (!t) {
          throw new Error(`Cannot resume training from "${source}": optimizer buffer "${key}" is missing`);
        }
        return tf.variable(tf.tensor(t.data, t.shape), false);
      }),
    );
  }
  return {
    step(grads, lr, t) {
      for (const p of params) {
        rule.update(
          p.v,
          grads[p.v.name],
          bufs.get(p.name)!,
          p.group === "backbone" ? lr.backbone : lr.heads,
          t,
          settings,
        );
      }
    },
    buffers() {
      const out = new Map<string, TensorData>();
      for (const [name, list] of bufs) {
        list.forEach((b, i) =>
          out.set(name + rule.buffers[i], { shape: [...b.shape], data: b.dataSync() as Float32Array })
        );
      }
      return out;
    },
    dispose() {
      for (const list of bufs.values()) for (const b of list) b.dispose();
    },
  };
}
