"""The `darkroom` command: migrate, run the embedded stack (NATS, PostgreSQL, every service)
and the demo.
"""
