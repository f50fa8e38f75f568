"""PyTorch cross-check helper (not part of the test suite): runs the AUTHORS' modules, read at run time from the
reference repository (models/resnet.py, models/attentionnet.py; nothing copied), on weights in our safetensors
layout, in float64, and writes head logits, mean logits and the attention map as JSON.

  /usr/bin/python3 tests/tools/torch_reference.py --weights W.safetensors --input X.f32 --batch N \
      [--width K] [--classes 7] [--repo /work/.mirror/1980x+ABAW2020DMACS/repo] --out OUT.json

Driven by tests/tools/torch_crosscheck.ts. Needs torch (Debian python3-torch 1.13 works) and numpy.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import types

import numpy as np
import torch
import torch.nn as nn


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", name
        a, b = info["data_offsets"]
        out[name] = torch.from_numpy(
            np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4").reshape(info["shape"]).copy())
    return out


def load_reference(repo):
    tmp = tempfile.mkdtemp(prefix="scan-ref-")
    os.makedirs(os.path.join(tmp, "models"))
    for f in ("models/resnet.py", "models/attentionnet.py"):
        src = subprocess.run(["git", "-C", repo, "show", f"HEAD:{f}"], check=True, capture_output=True).stdout
        with open(os.path.join(tmp, f), "wb") as out:
            out.write(src)
    sys.modules.setdefault("cv2", types.ModuleType("cv2"))  # imported but unused by resnet.py
    sys.path.insert(0, os.path.join(tmp, "models"))
    import attentionnet  # noqa: E402
    import resnet  # noqa: E402
    return resnet, attentionnet


def narrow_resnet(resnet, width):
    """The reference ResNet with every width divided by `width` (its __init__ hard-codes 64)."""
    class Narrow(resnet.ResNet):
        def __init__(self):
            nn.Module.__init__(self)
            self.inplanes = 64 // width
            self.conv1 = nn.Conv2d(3, 64 // width, kernel_size=7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(64 // width)
            self.relu = nn.ReLU()
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            self.layer1 = self._make_layer(resnet.Bottleneck, 64 // width, 3)
            self.layer2 = self._make_layer(resnet.Bottleneck, 128 // width, 4, stride=2)
            self.layer3 = self._make_layer(resnet.Bottleneck, 256 // width, 6, stride=2)
    return Narrow() if width > 1 else resnet.ResNet(resnet.Bottleneck, [3, 4, 6, 3])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--weights", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--width", type=int, default=1)
    p.add_argument("--classes", type=int, default=7)
    p.add_argument("--repo", default="/work/.mirror/1980x+ABAW2020DMACS/repo")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    resnet, attentionnet = load_reference(a.repo)
    tensors = read_safetensors(a.weights)
    base = narrow_resnet(resnet, a.width)
    attention = attentionnet.AttentionBranch(inputdim=512 // a.width, num_classes=a.classes)
    region = attentionnet.RegionBranch(inputdim=1024 // a.width, num_classes=a.classes)
    for prefix, module in (("base.", base), ("attention.", attention), ("region.", region)):
        sd = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        for k in list(module.state_dict().keys()):
            if k.endswith("num_batches_tracked"):
                sd[k] = torch.tensor(0)
            elif k.startswith("classifiers."):  # the same module as region_net, listed again by state_dict()
                sd[k] = sd["region_net." + k.split(".", 2)[2]]
        module.load_state_dict(sd, strict=True)
        module.double().eval()
    x = np.fromfile(a.input, dtype="<f4").reshape(a.batch, 3, 224, 224)
    with torch.no_grad():
        x = torch.from_numpy(x.astype(np.float64))
        fu, fl = base(x)
        _, _, attention_preds = attention(fu)
        region_preds = region(fl)
        heads = torch.cat([attention_preds.unsqueeze(2), region_preds], dim=2)  # as test_affwild2.py
        logits = heads.mean(dim=2)
        amap = attention.global_attention_mask(fu).mean(dim=1)
    with open(a.out, "w") as f:
        json.dump({
            "head_logits": heads.permute(0, 2, 1).reshape(-1).tolist(),
            "logits": logits.reshape(-1).tolist(),
            "attention_map": amap.reshape(-1).tolist(),
        }, f)


if __name__ == "__main__":
    main()
