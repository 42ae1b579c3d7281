"""HTTP API of the control plane (FastAPI): campaigns, trunks, companies, call lists, contacts."""

from dialer.api.app import create_app

__all__ = ["create_app"]
