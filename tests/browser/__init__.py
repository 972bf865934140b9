"""Real-browser tests: the course's notebooks in JupyterLab, driven in headless Chromium."""
