"""``python -m omib_core``: see omib_core.cli."""

from omib_core.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
