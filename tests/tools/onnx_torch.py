"""Runs an exported scan-fer ONNX graph op for op with PyTorch CUDA kernels, for a GPU throughput figure where the
onnxruntime build at hand has no CUDA execution provider (the Python wheel on our GPU machine ships only CPU).

It first re-draws the graph's float initializers at random (seeded; BatchNorm variances kept positive), runs that
model both with onnxruntime (CPU) and with this interpreter on the GPU (fp32, TF32 off) and reports the largest
difference, so the interpreter is checked on the exact graph before it is timed. Then it times batches 1..64 in
fp32 and fp16 (the fp16 file's own casts).

    python3 tests/tools/onnx_torch.py artifacts/gpu/scan-cci.onnx artifacts/gpu/scan-cci-fp16.onnx
"""
import json
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn.functional as F
from onnx import numpy_helper

DTYPES = {1: torch.float32, 10: torch.float16, 7: torch.int64, 6: torch.int32}


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class Interp:
    def __init__(self, model, device):
        self.g = model.graph
        self.const = {}
        for t in self.g.initializer:
            a = numpy_helper.to_array(t)
            self.const[t.name] = torch.from_numpy(a.copy()).to(device)
        self.nodes = [(n.op_type, list(n.input), list(n.output), attrs(n)) for n in self.g.node]

    def ints(self, name):
        return [int(v) for v in self.const[name].tolist()]

    def run(self, x):
        env = dict(self.const)
        env[self.g.input[0].name] = x
        for op, ins, outs, at in self.nodes:
            a = [env[i] if i else None for i in ins]
            if op == "Conv":
                nd = a[1].dim() - 2
                p = at.get("pads", [0] * (2 * nd))
                inp = a[0]
                if p[:nd] != p[nd:]:
                    torch_pad = []
                    for d in reversed(range(nd)):
                        torch_pad += [p[d], p[d + nd]]
                    inp, pad = F.pad(inp, torch_pad), [0] * nd
                else:
                    pad = p[:nd]
                conv = F.conv1d if nd == 1 else F.conv2d
                y = conv(inp, a[1], a[2] if len(a) > 2 else None, at.get("strides", [1] * nd), pad,
                         at.get("dilations", [1] * nd), at.get("group", 1))
            elif op == "BatchNormalization":
                y = F.batch_norm(a[0], a[3], a[4], a[1], a[2], False, 0.0, at.get("epsilon", 1e-5))
            elif op == "Relu":
                y = F.relu(a[0])
            elif op == "Sigmoid":
                y = torch.sigmoid(a[0])
            elif op == "MaxPool":
                p = at.get("pads", [0, 0, 0, 0])
                y = F.max_pool2d(a[0], at["kernel_shape"], at.get("strides", [1, 1]), (p[0], p[1]))
            elif op == "Add":
                y = a[0] + a[1]
            elif op == "Mul":
                y = a[0] * a[1]
            elif op == "Div":
                y = a[0] / a[1]
            elif op == "Max":
                y = a[0]
                for b in a[1:]:
                    y = torch.maximum(y, b)
            elif op == "PRelu":
                y = torch.where(a[0] >= 0, a[0], a[0] * a[1])
            elif op == "Transpose":
                y = a[0].permute(*at["perm"])
            elif op == "Reshape":
                shape = self.ints(ins[1])
                shape = [a[0].shape[i] if s == 0 else s for i, s in enumerate(shape)]
                y = a[0].reshape(shape)
            elif op == "Flatten":
                ax = at.get("axis", 1)
                y = a[0].reshape(int(np.prod(a[0].shape[:ax])), -1)
            elif op == "Pad":
                p = self.ints(ins[1])
                n = len(p) // 2
                torch_pad = []
                for d in reversed(range(n)):
                    torch_pad += [p[d], p[d + n]]
                val = float(a[2].item()) if len(a) > 2 and a[2] is not None else 0.0
                y = F.pad(a[0], torch_pad, value=val)
            elif op == "Gather":
                y = torch.index_select(a[0], at.get("axis", 0), a[1].reshape(-1)).reshape(
                    *a[0].shape[: at.get("axis", 0)], *a[1].shape, *a[0].shape[at.get("axis", 0) + 1 :])
            elif op == "MatMul":
                y = torch.matmul(a[0], a[1])
            elif op == "Gemm":
                b = a[1].t() if at.get("transB", 0) else a[1]
                aa = a[0].t() if at.get("transA", 0) else a[0]
                y = at.get("alpha", 1.0) * (aa @ b)
                if len(a) > 2 and a[2] is not None:
                    y = y + at.get("beta", 1.0) * a[2]
            elif op == "Concat":
                y = torch.cat(a, at["axis"])
            elif op in ("ReduceSum", "ReduceMean", "ReduceMax", "ReduceL2"):
                axes = at.get("axes") or (self.ints(ins[1]) if len(ins) > 1 else None)
                keep = bool(at.get("keepdims", 1))
                dims = list(axes) if axes else list(range(a[0].dim()))
                if op == "ReduceSum":
                    y = a[0].sum(dims, keepdim=keep)
                elif op == "ReduceMean":
                    y = a[0].mean(dims, keepdim=keep)
                elif op == "ReduceL2":
                    y = torch.sqrt((a[0] * a[0]).sum(dims, keepdim=keep))
                else:
                    y = a[0].amax(dims, keepdim=keep)
            elif op == "GlobalAveragePool":
                y = a[0].mean(dim=list(range(2, a[0].dim())), keepdim=True)
            elif op == "Unsqueeze":
                y = a[0]
                for ax in sorted(at.get("axes") or self.ints(ins[1])):
                    y = y.unsqueeze(ax)
            elif op == "Cast":
                y = a[0].to(DTYPES[at["to"]])
            else:
                raise NotImplementedError(op)
            env[outs[0]] = y
        return {o.name: env[o.name] for o in self.g.output}


def randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    for t in model.graph.initializer:
        a = numpy_helper.to_array(t)
        if a.dtype.kind != "f":
            continue
        r = (rng.standard_normal(a.shape) * 0.05).astype(a.dtype)
        if "running_var" in t.name or t.name.endswith("var"):
            r = (np.abs(r) + 1).astype(a.dtype)
        t.CopyFrom(numpy_helper.from_array(r, t.name))
    return model


def bench(fn, batch, seconds=2.0):
    for _ in range(3):
        fn()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        n += 1
    dt = time.perf_counter() - t0
    return {"batch": batch, "ms_per_batch": round(1000 * dt / n, 3), "img_per_s": round(batch * n / dt, 1)}


def main(paths):
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    out = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__}
    # 1. Check the interpreter against onnxruntime on the fp32 graph with random weights.
    m = randomize(onnx.load(paths[0]))
    x = np.random.default_rng(1).standard_normal((4, 3, 224, 224)).astype(np.float32)
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    ref = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {"input": x})))
    with torch.no_grad():
        got = Interp(m, "cuda").run(torch.from_numpy(x).cuda())
    out["interpreter_vs_onnxruntime_max_abs_diff"] = {
        k: float(np.abs(got[k].float().cpu().numpy() - ref[k]).max()) for k in ref}
    out["logit_scale"] = float(np.abs(ref["head_logits"]).max())
    del m, sess
    # 2. Time the exported graphs.
    for path in paths:
        interp = Interp(onnx.load(path), "cuda")
        rows = []
        for batch in [1, 8, 32, 64, 128]:
            xb = torch.randn(batch, 3, 224, 224, device="cuda")

            def step():
                with torch.no_grad():
                    interp.run(xb)
                torch.cuda.synchronize()

            rows.append(bench(step, batch))
        out[path.split("/")[-1]] = rows
        del interp
        torch.cuda.empty_cache()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
