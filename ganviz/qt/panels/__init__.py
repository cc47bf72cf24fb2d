"""Views: each panel has update(snapshot) and reset()."""
