"""The compiled reference dataset: its schema, build, checks, provenance and the readers of its
tables (:mod:`critmin.data.dataset`)."""
