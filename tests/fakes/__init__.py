"""Fakes that speak real wire protocols, for what cannot run here (a language model)."""
