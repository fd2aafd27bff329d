"""Tool endpoints for an assistant: named tools with JSON-Schema arguments over the services."""
