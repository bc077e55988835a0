"""Language models over tokun latents, bytes and BPE, their comparison, and parameter arithmetic."""
