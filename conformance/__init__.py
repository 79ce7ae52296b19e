"""Property-based conformance of pooling backends against the oracle in `reference`."""
