"""Live feeds: committed changes fanned out to dispatch (WebSocket) and recipients (SSE)."""
