"""Files of any size: text to latents files and back, in bounded memory."""
