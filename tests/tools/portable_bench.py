"""Portable SCAN+CCI CPU benchmark (Python onnxruntime, 2 intra-op threads); see portable_bench_prep.ts."""
import gzip, json, os, shutil, statistics, time
import numpy as np
import onnxruntime as ort
d = os.path.dirname(os.path.abspath(__file__))
for f in os.listdir(d):
    if f.endswith(".onnx.gz"):
        with gzip.open(os.path.join(d, f)) as src, open(os.path.join("/tmp", f[:-3]), "wb") as dst:
            shutil.copyfileobj(src, dst)
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"): return int(line.split()[1]) / 1024
def opts():
    so = ort.SessionOptions(); so.intra_op_num_threads = 2; so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL; so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return so
def timeit(fn, budget, minimum=3):
    for _ in range(2): fn()
    ts = []; end = time.time() + budget
    while time.time() < end or len(ts) < minimum:
        t = time.time(); fn(); ts.append((time.time() - t) * 1000)
    return statistics.median(ts), len(ts)
res = {"ort": ort.__version__, "cpu": os.cpu_count()}
mm = ort.InferenceSession("/tmp/matmul.onnx", opts(), providers=["CPUExecutionProvider"])
a = np.full((1024, 2048), 0.25, np.float32)
ms, n = timeit(lambda: mm.run(None, {"a": a}), 4)
res["matmul_gflops"] = 2 * 1024 * 2048 * 1024 / (ms * 1e6)
GF = 14.504
for name in ("perpatch", "fp16"):
    r0 = rss(); t = time.time()
    s = ort.InferenceSession(f"/tmp/{name}.onnx", opts(), providers=["CPUExecutionProvider"])
    r = {"create_ms": (time.time() - t) * 1000, "rss_after_mb": rss(), "rss_added_mb": rss() - r0}
    for b in (1, 8):
        x = np.random.default_rng(0).uniform(-1, 1, (b, 3, 224, 224)).astype(np.float32)
        ms, n = timeit(lambda: s.run(None, {"input": x}), 12 if b == 8 else 6)
        r[f"b{b}_ms"] = ms; r[f"b{b}_img_s"] = 1000 * b / ms; r[f"b{b}_runs"] = n
        r[f"eff{b}"] = GF * 1000 * b / ms / res["matmul_gflops"]
    res[name] = r
    del s
    print(name, json.dumps(r), flush=True)
ms, n = timeit(lambda: mm.run(None, {"a": a}), 4)
res["matmul_gflops_end"] = 2 * 1024 * 2048 * 1024 / (ms * 1e6)
print(json.dumps(res))
