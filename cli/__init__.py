"""The ``policy-qa`` command: it composes the library (rag/), the web UI (ui/) and the
evaluation (eval/), which is why it lives outside ``rag/`` — the library imports neither."""
