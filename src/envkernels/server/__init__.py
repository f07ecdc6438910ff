"""The jupyter_server extension: the REST API under ``<base_url>envkernels/api/`` (a front end).

Owns the extension and its traits (``app``), the handlers and their authorization (``handlers``), the
paths a request may name (``paths``), how engine errors become HTTP answers (``http_errors``), the
calls into the engine API (``service``), the thread pools (``work``) and the server's stored
verdicts (``verdicts``). It decides nothing about environments: :mod:`envkernels.api` does.
"""
