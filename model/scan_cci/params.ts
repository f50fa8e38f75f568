/**
 * The parameters of SCAN+CCI as data: every tensor name (exactly the reference PyTorch modules' state_dict names
 * behind a `base.`, `attention.` or `region.` prefix), its shape for a given width divisor and class count, and
 * how PyTorch would initialise it. The graph builder, the weight checker, the random initialiser and the
 * trainer's exporter all read this one list, so they cannot disagree on names.
 */

/** A named tensor as the builder and the weight readers pass it around. */
export interface TensorData {
  shape: number[];
  data: Float32Array;
}

/** ResNet-50 blocks per layer; SCAN+CCI keeps layer1..layer3 only. */
export const RESNET50_LAYERS = [3, 4, 6] as const;
/** Bottleneck widths of layer1..layer3 and their first block's stride (on the 3x3 conv). */
export const LAYER_PLANES = [64, 128, 256] as const;
export const LAYER_STRIDES = [1, 2, 2] as const;
/** Bottleneck expansion: a block's output has `4 * planes` channels. */
export const EXPANSION = 4;
/** Local SCAN patches over the 28x28 layer2 map (16 + 4 + 4 + 1) and CCI regions over the 14x14 layer3 map. */
export const LOCAL_PATCHES = 25;
export const CCI_REGIONS = 4;
/** ECA kernel size for 1024 channels, as in the reference. */
export const ECA_KERNEL = 5;

/** How a parameter is initialised by PyTorch in the reference code (see `randomScanCci`). */
export type InitKind =
  | "resnetConv"
  | "bnWeight"
  | "bnBias"
  | "bnMean"
  | "bnVar"
  | "scanConv"
  | "prelu"
  | "linearWeight"
  | "linearBias"
  | "eca";

/** One expected tensor: name, shape, initialiser, and whether it is trainable (BN running stats are not). */
export interface ParamSpec {
  name: string;
  shape: number[];
  init: InitKind;
  /** PyTorch fan-in used by the default initialisers. */
  fanIn: number;
  trainable: boolean;
}

/** Channel counts for a width divisor: `width` 8 divides every ResNet/SCAN/CCI width by 8. */
export function scanCciChannels(width = 1): {
  stem: number;
  planes: number[];
  fu: number;
  fl: number;
  hidden: number;
} {
  if (!Number.isInteger(width) || width < 1 || 64 % width !== 0) {
    throw new Error(`Cannot size SCAN+CCI: width divisor must be an integer dividing 64, got ${width}`);
  }
  const planes = LAYER_PLANES.map((p) => p / width);
  return {
    stem: 64 / width,
    planes,
    fu: planes[1] * EXPANSION,
    fl: planes[2] * EXPANSION,
    hidden: (planes[2] * EXPANSION) / 4,
  };
}

function bn(prefix: string, c: number): ParamSpec[] {
  return [
    { name: `${prefix}.weight`, shape: [c], init: "bnWeight", fanIn: 0, trainable: true },
    { name: `${prefix}.bias`, shape: [c], init: "bnBias", fanIn: 0, trainable: true },
    { name: `${prefix}.running_mean`, shape: [c], init: "bnMean", fanIn: 0, trainable: false },
    { name: `${prefix}.running_var`, shape: [c], init: "bnVar", fanIn: 0, trainable: false },
  ];
}

function resnetConv(name: string, out: number, inp: number, k: number): ParamSpec {
  return { name, shape: [out, inp, k, k], init: "resnetConv", fanIn: inp * k * k, trainable: true };
}

function linear(prefix: string, out: number, inp: number): ParamSpec[] {
  return [
    { name: `${prefix}.weight`, shape: [out, inp], init: "linearWeight", fanIn: inp, trainable: true },
    { name: `${prefix}.bias`, shape: [out], init: "linearBias", fanIn: inp, trainable: true },
  ];
}

function scanModule(prefix: string, c: number): ParamSpec[] {
  return [
    {
      name: `${prefix}.attention.0.weight`,
      shape: [c, c, 3, 3],
      init: "scanConv",
      fanIn: c * 9,
      trainable: true,
    },
    { name: `${prefix}.attention.1.weight`, shape: [c], init: "prelu", fanIn: 0, trainable: true },
    ...bn(`${prefix}.attention.2`, c),
  ];
}

/**
 * Every tensor SCAN+CCI needs, in a stable order, for a width divisor and class count. Names are the reference
 * state_dict names with `base.`, `attention.` and `region.` prefixes, e.g. `base.layer1.0.conv1.weight`,
 * `attention.local_attention_masks.24.attention.2.running_var`, `region.region_net.2.bias`.
 */
export function scanCciParamSpecs(
  { width = 1, classes = 7 }: { width?: number; classes?: number } = {},
): ParamSpec[] {
  if (!Number.isInteger(classes) || classes < 1) {
    throw new Error(`Cannot size SCAN+CCI: classes must be a positive integer, got ${classes}`);
  }
  const ch = scanCciChannels(width);
  const specs: ParamSpec[] = [resnetConv("base.conv1.weight", ch.stem, 3, 7), ...bn("base.bn1", ch.stem)];
  let inplanes = ch.stem;
  RESNET50_LAYERS.forEach((blocks, li) => {
    const planes = ch.planes[li];
    for (let b = 0; b < blocks; b++) {
      const p = `base.layer${li + 1}.${b}`;
      specs.push(
        resnetConv(`${p}.conv1.weight`, planes, inplanes, 1),
        ...bn(`${p}.bn1`, planes),
        resnetConv(`${p}.conv2.weight`, planes, planes, 3),
        ...bn(`${p}.bn2`, planes),
        resnetConv(`${p}.conv3.weight`, planes * EXPANSION, planes, 1),
        ...bn(`${p}.bn3`, planes * EXPANSION),
      );
      // torchvision's rule: a downsample path when the first block changes stride or width.
      if (b === 0 && (LAYER_STRIDES[li] !== 1 || inplanes !== planes * EXPANSION)) {
        specs.push(
          resnetConv(`${p}.downsample.0.weight`, planes * EXPANSION, inplanes, 1),
          ...bn(`${p}.downsample.1`, planes * EXPANSION),
        );
      }
      inplanes = planes * EXPANSION;
    }
  });
  for (let k = 0; k < LOCAL_PATCHES; k++) {
    specs.push(...scanModule(`attention.local_attention_masks.${k}`, ch.fu));
  }
  specs.push(
    ...scanModule("attention.global_attention_mask", ch.fu),
    ...linear("attention.fc", classes, 2 * ch.fu),
  );
  specs.push(
    {
      name: "region.eca.conv.weight",
      shape: [1, 1, ECA_KERNEL],
      init: "eca",
      fanIn: ECA_KERNEL,
      trainable: true,
    },
    ...linear("region.region_net.0", ch.hidden, ch.fl),
    ...linear("region.region_net.2", classes, ch.hidden),
  );
  return specs;
}

/** Number of trainable parameters (PyTorch's `count_parameters`: BN running statistics excluded). */
export function countTrainable(specs: ParamSpec[]): number {
  return specs.filter((s) => s.trainable).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}
