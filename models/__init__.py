"""The online forecasting core: features, candidates, baselines, metrics, champion, checkpoints.

Pure Python: nothing here imports Kafka, Redis or FastAPI. The same core runs in the stream
worker and in ``flowcast evaluate``.
"""
