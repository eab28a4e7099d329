"""China 2nd-generation ID-card reader (SAM module, GA 467): frames, decoder, protocol, device."""
