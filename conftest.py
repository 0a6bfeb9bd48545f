"""Root pytest configuration: real-server fixtures come from the darkroom_stack plugin."""

pytest_plugins = ["darkroom_stack.testing"]
