"""Reading submissions: file kinds and loading, grids, tables, formulas, legacy encodings, the screen, the pool, the isolated reader."""
