"""``python -m posetool`` is the same as the ``posetool`` console script."""

from posetool.cli import main

if __name__ == "__main__":
    main()
