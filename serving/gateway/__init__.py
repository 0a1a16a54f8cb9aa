"""The real-time gateway: python-socketio on the same ASGI app as the HTTP API."""
