"""Serial QR/barcode scanners: suffix-terminated ASCII lines, Honeywell trigger/menu commands."""
