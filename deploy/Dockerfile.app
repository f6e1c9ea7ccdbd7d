# The action server and the handoff API (Python 3.11, torch CPU for the KB encoder).
# NOT BUILT on the reference machine (no Docker there): it mirrors scripts/bootstrap.sh.
FROM python:3.11-slim
WORKDIR /atiende
COPY . .
RUN pip install --no-cache-dir "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu \
 && pip install --no-cache-dir -c requirements/app.lock -e ".[app]"
ENV PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HANDOFF_HOST=0.0.0.0
EXPOSE 5055 8000
# actions: python -m actions --port 5055 ; handoff API: python -m handoff_api serve
CMD ["python", "-m", "handoff_api", "serve"]
