"""expkit-docker: the ``docker`` compute target for expkit (alias ``localdocker``).

Runs a script in a container on this machine's Docker engine, in an
environment image built from the run configuration's conda_dependencies.yml
and cached by content hash, one image per layer. See README.md.
"""

__version__ = "0.1.0"
