"""One-shot GPU check for scan-fer (run on a CUDA machine; not part of the test suite).

1. Reports the GPU and which onnxruntime execution providers the Python build there has.
2. Runs the exported SCAN+CCI ONNX graph (given as a path; a constant-weight build compresses to a few hundred KB
   so it can be carried to the machine: `deno run -A tests/tools/constant_model.ts artifacts/gpu`) with the CUDA
   provider when available (fp32 and fp16 files), else on the CPU provider, at several batch sizes.
3. Runs the independent PyTorch implementation (tests/tools/torch_independent.py) of the same architecture on the
   GPU in fp32 (TF32 off) and fp16 as an upper reference for the ONNX numbers.

    python3 tests/tools/gpu_check.py artifacts/gpu/scan-cci.onnx artifacts/gpu/scan-cci-fp16.onnx
"""
import json
import os
import sys
import time

import numpy as np


def bench(fn, batch, seconds=3.0, warmup=3):
    for _ in range(warmup):
        fn()
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        n += 1
    dt = time.perf_counter() - t0
    return {"batch": batch, "runs": n, "ms_per_batch": 1000 * dt / n, "img_per_s": batch * n / dt}


def onnx_checks(paths, out):
    import onnxruntime as ort

    out["onnxruntime"] = {"version": ort.__version__, "providers": ort.get_available_providers()}
    have_cuda = "CUDAExecutionProvider" in ort.get_available_providers()
    for path in paths:
        if not os.path.exists(path):
            continue
        prov = ["CUDAExecutionProvider", "CPUExecutionProvider"] if have_cuda else ["CPUExecutionProvider"]
        t0 = time.perf_counter()
        sess = ort.InferenceSession(path, providers=prov)
        created = time.perf_counter() - t0
        rows = []
        for batch in [1, 8, 32, 64] if have_cuda else [1, 8]:
            x = np.random.default_rng(0).standard_normal((batch, 3, 224, 224)).astype(np.float32)
            rows.append(bench(lambda: sess.run(["logits"], {"input": x}), batch, seconds=2.0))
        out.setdefault("onnx", []).append({"file": os.path.basename(path), "providers": sess.get_providers(),
                                           "session_create_s": created, "results": rows})


def torch_checks(out):
    import torch

    import importlib.util

    spec = importlib.util.spec_from_file_location("scanfer_torch_reference",
                                                  os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_independent.py"))
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)

    if not torch.cuda.is_available():
        out["torch"] = "cuda not available"
        return
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    out["gpu"] = torch.cuda.get_device_name(0)
    g = torch.Generator().manual_seed(0)
    rows = []
    for dtype in [torch.float32, torch.float16]:
        ref.DT = dtype
        w = {k: (torch.randn(v, generator=g) * 0.05).to("cuda", dtype) for k, v in ref_shapes().items()}
        for k in w:
            if k.endswith("running_var"):
                w[k] = w[k].abs() + 1
        net = ref.Net(w)
        for batch in [1, 8, 32, 64]:
            x = torch.randn(batch, 3, 224, 224, device="cuda", dtype=dtype)

            def step():
                with torch.no_grad():
                    net.forward(x)
                torch.cuda.synchronize()

            r = bench(step, batch, seconds=2.0)
            r["dtype"] = str(dtype).replace("torch.", "")
            rows.append(r)
    out["torch_eager"] = rows


def ref_shapes():
    shapes = {"base.conv1.weight": (64, 3, 7, 7)}
    bn = lambda p, c: {f"{p}.{s}": (c,) for s in ["weight", "bias", "running_mean", "running_var"]}
    shapes.update(bn("base.bn1", 64))
    inplanes = 64
    for li, (blocks, planes) in enumerate([(3, 64), (4, 128), (6, 256)], start=1):
        for b in range(blocks):
            p = f"base.layer{li}.{b}"
            cin = inplanes if b == 0 else planes * 4
            shapes[p + ".conv1.weight"] = (planes, cin, 1, 1)
            shapes[p + ".conv2.weight"] = (planes, planes, 3, 3)
            shapes[p + ".conv3.weight"] = (planes * 4, planes, 1, 1)
            for i, c in [(1, planes), (2, planes), (3, planes * 4)]:
                shapes.update(bn(f"{p}.bn{i}", c))
            if b == 0:
                shapes[p + ".downsample.0.weight"] = (planes * 4, cin, 1, 1)
                shapes.update(bn(p + ".downsample.1", planes * 4))
        inplanes = planes * 4
    for m in [f"attention.local_attention_masks.{i}" for i in range(25)] + ["attention.global_attention_mask"]:
        shapes[m + ".attention.0.weight"] = (512, 512, 3, 3)
        shapes[m + ".attention.1.weight"] = (512,)
        shapes.update(bn(m + ".attention.2", 512))
    shapes["attention.fc.weight"] = (7, 1024)
    shapes["attention.fc.bias"] = (7,)
    shapes["region.eca.conv.weight"] = (1, 1, 5)
    shapes["region.region_net.0.weight"] = (256, 1024)
    shapes["region.region_net.0.bias"] = (256,)
    shapes["region.region_net.2.weight"] = (7, 256)
    shapes["region.region_net.2.bias"] = (7,)
    return shapes


if __name__ == "__main__":
    out = {}
    try:
        onnx_checks(sys.argv[1:], out)
    except Exception as e:  # report, don't hide
        out["onnx_error"] = repr(e)
    try:
        torch_checks(out)
    except Exception as e:
        out["torch_error"] = repr(e)
    print(json.dumps(out, indent=1))
