"""Allow ``python -m ecotrack``."""

from ecotrack.cli import main

if __name__ == "__main__":
    main()
