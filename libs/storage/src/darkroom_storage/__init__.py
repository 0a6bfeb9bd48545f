"""Object storage for originals and derived files: local filesystem and S3 (minio client) back ends."""
