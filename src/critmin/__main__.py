"""``python -m critmin``: the same command line as ``critmin`` (:func:`critmin.cli.main`)."""

from critmin.cli import main

if __name__ == "__main__":
    main()
