"""The web front end of `consolidate serve`: units upload through their own links, the clerk watches and runs."""
