# scan-fer serving image.
#
#   GPU (default): docker build -t scan-fer .
#                  docker run --gpus all -p 8080:8080 scan-fer
#   CPU only:      docker build -t scan-fer:cpu --build-arg VARIANT=cpu .
#                  docker run -p 8080:8080 scan-fer:cpu
#
# The GPU variant starts from NVIDIA's CUDA 12 + cuDNN 9 runtime and lets onnxruntime-node's install script fetch
# its CUDA 12 execution provider at build time (ONNXRUNTIME_NODE_INSTALL=cuda12). The CPU variant starts from
# Debian and skips that download. Model artifacts are built at image build time from the weights shipped in the
# npm packages into MODEL_DIR (the image's own artifacts/models/; the host's artifacts/ is not copied), so the
# container needs no network at run time.
ARG VARIANT=gpu
ARG DENO_VERSION=2.9.6

FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04 AS base-gpu
ENV ONNXRUNTIME_NODE_INSTALL=cuda12 EXECUTION_PROVIDER=cuda

FROM debian:bookworm-slim AS base-cpu
ENV ONNXRUNTIME_NODE_INSTALL=skip EXECUTION_PROVIDER=cpu

FROM base-${VARIANT} AS runtime
ARG DENO_VERSION
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates curl ffmpeg nodejs npm \
  && npm install -g "deno@${DENO_VERSION}" \
  && npm cache clean --force \
  && apt-get purge -y npm && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 app
WORKDIR /app
ENV DENO_DIR=/app/.deno DENO_NO_UPDATE_CHECK=1 NO_COLOR=1 PORT=8080 HOST=0.0.0.0 MODEL_DIR=/app/artifacts/models

# Dependencies first (cached layer), strictly from the lock file. Only onnxruntime-node's script is allowed to
# run, and only to fetch the CUDA provider in the GPU variant.
COPY deno.json deno.lock ./
RUN deno install --frozen --allow-scripts=npm:onnxruntime-node

COPY . .
# Build the face detector / landmark / baseline expression artifacts and cache the server's module graph.
RUN deno task models && deno cache src/main.ts && chown -R app:app /app
USER app

EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=120s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${PORT}/readyz" || exit 1
STOPSIGNAL SIGTERM
CMD ["deno", "task", "start"]
