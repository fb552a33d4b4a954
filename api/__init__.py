"""The REST API (FastAPI): routers per resource, pydantic schemas, auth and idempotency dependencies.

It calls db/ like the chat does and never imports bot/ or handlers/.
"""
