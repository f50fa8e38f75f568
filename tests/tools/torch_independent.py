"""Independent PyTorch forward of SCAN+CCI (ABAW 2020, Gera & Balasubramanian) for cross-checking the ONNX graph.

Written from the paper and the reference code's semantics (not copied, and unlike tests/tools/torch_reference.py
not running the authors' modules): ResNet-50 to layer3 with the stride on the 3x3 conv, 25 local SCAN patches of
layer2 (incl. the reference unfold quirk for the 4x6 patches), a global SCAN, L2-normalised concat -> fc; ECA + 4
quadrant MLP heads on layer3; prediction = mean of the 5 heads. Computes in float64 and compares with the ONNX
outputs written by tests/tools/torch_parity.ts.

    /usr/bin/python3 tests/tools/torch_independent.py artifacts/parity
"""
import json
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

DT = torch.float64


def read_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    base = 8 + n
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        assert v["dtype"] == "F32"
        out[k] = torch.from_numpy(np.frombuffer(raw[base + a : base + b], dtype="<f4").reshape(v["shape"]).copy()).to(DT)
    return out


class Net:
    def __init__(self, w):
        self.w = w

    def bn(self, x, p):
        w = self.w
        return F.batch_norm(x, w[p + ".running_mean"], w[p + ".running_var"], w[p + ".weight"], w[p + ".bias"],
                            training=False, eps=1e-5)

    def bottleneck(self, x, p, stride, down):
        w = self.w
        y = F.relu(self.bn(F.conv2d(x, w[p + ".conv1.weight"]), p + ".bn1"))
        y = F.relu(self.bn(F.conv2d(y, w[p + ".conv2.weight"], stride=stride, padding=1), p + ".bn2"))
        y = self.bn(F.conv2d(y, w[p + ".conv3.weight"]), p + ".bn3")
        skip = self.bn(F.conv2d(x, w[p + ".downsample.0.weight"], stride=stride), p + ".downsample.1") if down else x
        return F.relu(y + skip)

    def backbone(self, x):
        w = self.w
        x = F.relu(self.bn(F.conv2d(x, w["base.conv1.weight"], stride=2, padding=3), "base.bn1"))
        x = F.max_pool2d(x, 3, 2, 1)
        feats = []
        for li, (blocks, stride) in enumerate([(3, 1), (4, 2), (6, 2)], start=1):
            for b in range(blocks):
                x = self.bottleneck(x, f"base.layer{li}.{b}", stride if b == 0 else 1, b == 0)
            feats.append(x)
        return feats[1], feats[2]

    def scan(self, x, p):
        w = self.w
        y = F.conv2d(x, w[p + ".attention.0.weight"], padding=1)
        y = F.prelu(y, w[p + ".attention.1.weight"])
        y = self.bn(y, p + ".attention.2")
        return torch.sigmoid(y)

    @staticmethod
    def patches(fu):
        out = []
        for r in range(4):
            for c in range(4):
                out.append(fu[:, :, 6 * r : 6 * r + 6, 6 * c : 6 * c + 6])
        for r in range(4):
            out.append(fu[:, :, 6 * r : 6 * r + 6, 24:28])
        for k in range(4):  # row 24+k, columns 0..23 folded row-major into 4x6
            out.append(fu[:, :, 24 + k, 0:24].reshape(fu.shape[0], fu.shape[1], 4, 6))
        out.append(fu[:, :, 24:28, 24:28])
        return out

    def forward(self, x):
        w = self.w
        fu, fl = self.backbone(x)
        local = []
        for i, p in enumerate(self.patches(fu)):
            m = self.scan(p, f"attention.local_attention_masks.{i}")
            local.append((p * m).mean(dim=(2, 3)))
        vl = torch.stack(local, 0).max(0).values
        gm = self.scan(fu, "attention.global_attention_mask")
        vg = (fu * gm).mean(dim=(2, 3))
        feat = F.normalize(torch.cat([vl, vg], 1), p=2, dim=1)
        att = F.linear(feat, w["attention.fc.weight"], w["attention.fc.bias"])
        # ECA: conv1d over the channel axis of the pooled vector.
        y = fl.mean(dim=(2, 3)).unsqueeze(1)
        y = torch.sigmoid(F.conv1d(y, w["region.eca.conv.weight"], padding=2)).squeeze(1)
        g = fl * y[:, :, None, None]
        heads = [att]
        for r0, c0 in [(0, 0), (0, 7), (7, 0), (7, 7)]:
            h = g[:, :, r0 : r0 + 7, c0 : c0 + 7].mean(dim=(2, 3))
            h = F.relu(F.linear(h, w["region.region_net.0.weight"], w["region.region_net.0.bias"]))
            heads.append(F.linear(h, w["region.region_net.2.weight"], w["region.region_net.2.bias"]))
        head = torch.stack(heads, 1)
        return head.mean(1), head, gm.mean(1)


def main(folder):
    meta = json.load(open(f"{folder}/meta.json"))
    n = meta["n"]
    w = read_safetensors(f"{folder}/weights.safetensors")
    x = torch.from_numpy(np.fromfile(f"{folder}/input.f32", dtype="<f4").reshape(n, 3, 224, 224)).to(DT)
    with torch.no_grad():
        logits, head, amap = Net(w).forward(x)
    worst = {}
    for name, ref in [("logits", logits), ("head_logits", head), ("attention_map", amap)]:
        got = np.fromfile(f"{folder}/{name}.f32", dtype="<f4").reshape(ref.shape)
        diff = np.abs(got.astype(np.float64) - ref.numpy())
        worst[name] = float(diff.max())
        print(f"{name:14s} shape {list(ref.shape)} max|ref| {float(ref.abs().max()):.4g} max abs diff {diff.max():.3g}")
    ok = worst["head_logits"] <= 1e-4 and worst["logits"] <= 1e-4
    print(json.dumps({"width": meta["width"], "style": meta["style"], "images": n, "max_abs_diff": worst,
                      "within_1e-4": ok}))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "artifacts/parity")
