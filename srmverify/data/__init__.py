"""Bundled data: example networks, VNN-LIB properties and the digits model (``DATA_DIR``)."""
from pathlib import Path

#: Folder of the bundled files (installed with the package).
DATA_DIR = Path(__file__).resolve().parent
