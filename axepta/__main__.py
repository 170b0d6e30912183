"""``python -m axepta``: the command line."""

from axepta.cli import main

if __name__ == "__main__":
    main()
