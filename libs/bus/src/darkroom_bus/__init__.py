"""A thin layer over nats-py JetStream: stream provisioning, typed handlers, retries, dead letters, RPC."""
