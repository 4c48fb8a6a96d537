"""The bundled corpus: cleaned documents, their manifest, and the reviewed source repairs.

This is a package only so that the files ship inside the wheel; see `manifest.toml`.
"""
