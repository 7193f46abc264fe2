"""Writing outputs: the merged workbook, templates, CSV log, HTML page, charts, examples, the atomic output set; the only place that knows XlsxWriter."""
