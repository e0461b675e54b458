"""The import of the asset register (an .xlsx or .csv sheet) into ic3_asset_master: the file
opened as rows of cells (files.py), each cell read as its field wants it (cells.py), the header
found and every row checked (sheet.py), then one transaction (transaction.py). A bad file or row
raises ImportFileError and writes nothing."""

from ic3sync.importer.files import read_register
from ic3sync.importer.transaction import ImportResult, import_assets, import_summary

__all__ = ["ImportResult", "import_assets", "import_summary", "read_register"]
