"""ESC/POS thermal receipt printer: sans-I/O encoder and decoder, document model, simulator."""
