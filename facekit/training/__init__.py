"""Training of the reference Network at scale (CPU for tiny configs, GPU/DDP for real runs)."""
