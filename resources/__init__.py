"""The window's icons and style sheet, installed as the package ``bank_desktop.resources``.

This folder sits beside ``bank_desktop/`` (the design card's layout); ``pyproject.toml`` maps it
into the package at build time, so ``bank_desktop.gui.assets`` reads it through
``importlib.resources`` from a wheel, an editable install or the PyInstaller bundle alike.
"""
