"""Camera QR decoding: capture sources, decoder backends, a worker-thread scanner."""
