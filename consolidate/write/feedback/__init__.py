"""The units' feedback copies: what a copy says (content), the patched copy, and the openpyxl copy it falls back to."""
