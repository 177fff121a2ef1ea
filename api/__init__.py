"""The gateway: REST, WebSocket push, dashboard page and Prometheus metrics over Redis.

The app is built by :func:`api.main.create_app`; :func:`api.server.run_api` serves it.
"""
