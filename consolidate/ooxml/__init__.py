"""The small OOXML layer: the package (zip parts), XML text, styles, comments, formulas reaching outside, and the patch that edits a workbook in place."""
