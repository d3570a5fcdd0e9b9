# OMIB Studio. Same install steps as the README (scripts/setup.sh), CPU by default.
#   docker build -t omib-studio .
#   docker build --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128 -t omib-studio:cuda .   (CUDA hosts)
#   docker run -p 8501:8501 -v omib-data:/data omib-studio
#   docker build --build-arg WITH_RAY=1 -t omib-studio:ray .   (the Ray backend and the scheduler of compose.yaml)
#   paper datasets (CMU-MOSI, CREMA-D, 10x; docs/deploy.md): add -v /srv/omib-datasets:/datasets:ro -e OMIB_DATASETS_DIR=/datasets
FROM python:3.11-slim

ARG TORCH_INDEX=""
ARG WITH_RAY=0
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    OMIB_DATA_DIR=/data \
    NUMBA_CACHE_DIR=/opt/numba-cache \
    OMIB_ADDRESS=0.0.0.0 \
    PYTHON=python3.11

RUN apt-get update && apt-get install -y --no-install-recommends make curl && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 omib

WORKDIR /app
COPY requirements.txt requirements-dev.txt requirements-nodeps.txt pyproject.toml Makefile ./
COPY scripts ./scripts
RUN if [ -n "$TORCH_INDEX" ]; then python -m venv .venv && .venv/bin/pip install --index-url "$TORCH_INDEX" torch==2.13.0; fi
COPY omib_core ./omib_core
COPY dashboard ./dashboard
COPY assets ./assets
COPY .streamlit ./.streamlit
COPY README.md ./
RUN scripts/setup.sh \
    && mkdir -p /data "$NUMBA_CACHE_DIR" \
    && .venv/bin/python -c "from omib_core.analysis.embedding import warm_up_umap; warm_up_umap()" \
    && chown -R omib:omib /data "$NUMBA_CACHE_DIR"
RUN if [ "$WITH_RAY" = "1" ]; then .venv/bin/pip install --no-cache-dir ray==2.60.0; fi

USER omib
VOLUME ["/data"]
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8501/_stcore/health || exit 1
CMD [".venv/bin/python", "-m", "dashboard.serve", "--server.address", "0.0.0.0", "--server.port", "8501"]
